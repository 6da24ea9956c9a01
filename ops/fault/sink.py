#!/usr/bin/env python3
"""A counting SMTP sink for ops/fault/run.sh: accepts every message on a loopback port and
appends one line per envelope recipient (recipient TAB subject) to a log file, flushed and
synced before the 250 reply to DATA, so the count survives the sink being killed and names
exactly what the sender was told was delivered.

Usage: sink.py PORT LOGFILE
"""
import asyncio
import os
import re
import sys

PORT, LOG = int(sys.argv[1]), sys.argv[2]
log = open(LOG, "a", buffering=1)


def subject_of(data: bytes) -> str:
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    m = re.search(r"^Subject: ?(.*)$", head, re.M | re.I)
    return m.group(1).strip() if m else ""


async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    def reply(line: str) -> None:
        writer.write(line.encode() + b"\r\n")

    reply("220 fault-sink ESMTP")
    rcpts: list[str] = []
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                reply("250-fault-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING")
            elif verb == b"MAIL":
                rcpts = []
                reply("250 2.1.0 ok")
            elif verb == b"RCPT":
                m = re.search(rb"<([^>]*)>", line)
                rcpts.append((m.group(1) if m else b"").decode("utf-8", "replace").lower())
                reply("250 2.1.5 ok")
            elif verb == b"DATA":
                reply("354 go on")
                await writer.drain()
                chunks = []
                while True:
                    chunk = await reader.readline()
                    if not chunk:
                        return
                    if chunk == b".\r\n":
                        break
                    chunks.append(chunk)
                subject = subject_of(b"".join(chunks))
                for rcpt in rcpts:
                    log.write(f"{rcpt}\t{subject}\n")
                log.flush()
                os.fsync(log.fileno())
                rcpts = []
                reply("250 2.0.0 queued")
            elif verb == b"RSET":
                rcpts = []
                reply("250 2.0.0 ok")
            elif verb == b"QUIT":
                reply("221 2.0.0 bye")
                await writer.drain()
                return
            else:
                reply("250 2.0.0 ok")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(session, "127.0.0.1", PORT, reuse_address=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
