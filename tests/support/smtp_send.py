"""Sends one message with Python's smtplib and prints the outcome as JSON.

Usage: smtp_send.py HOST PORT LOGIN PASSWORD FROM RCPT[,RCPT…] [--to-visible N] [--size BYTES]
                    [--no-tls] [--subject S] [--dsn STATUS] [--body TEXT] [--raw FILE]
LOGIN "-" sends without AUTH. --dsn sends a delivery status notification (RFC 3464) with that
status (5.x.x: Action failed, else delayed) from the null sender, as a remote MTA would.
--raw sends the file's bytes as the message, unchanged (no header of this script's own).
Prints {"stage": "...", "code": N, "text": "..."}: the stage where the server said no (auth,
rcpt, data) or "sent" with the final reply of DATA.
"""
import argparse
import json
import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import make_msgid

p = argparse.ArgumentParser()
p.add_argument("host")
p.add_argument("port", type=int)
p.add_argument("login")
p.add_argument("password")
p.add_argument("sender")
p.add_argument("rcpts")
p.add_argument("--to-visible", type=int, default=0)
p.add_argument("--size", type=int, default=0)
p.add_argument("--no-tls", action="store_true")
p.add_argument("--subject", default="Einladung zur Mitgliederversammlung")
p.add_argument("--message-id", default=None)
p.add_argument("--dsn", default=None)
p.add_argument("--body", default=None)
p.add_argument("--html", default=None, help="an HTML alternative to the text")
p.add_argument("--attach", default=None, help="attach a small PDF under this file name")
p.add_argument("--raw", default=None, help="send this file's bytes as the message, unchanged")
a = p.parse_args()
raw = open(a.raw, "rb").read() if a.raw else None

msg = EmailMessage()
msg["From"] = a.sender
msg["To"] = ", ".join([f"m{i}@example.net" for i in range(a.to_visible)] or a.rcpts.split(","))
msg["Subject"] = a.subject
msg["Message-ID"] = a.message_id or make_msgid(domain="example.org")
msg.set_content(
    a.body if a.body is not None else "Liebe Mitglieder,\n\nwir laden herzlich ein.\n" + "x" * a.size
)
if a.html is not None:
    msg.add_alternative(a.html, subtype="html")
if a.attach is not None:
    msg.add_attachment(b"%PDF-1.4\n", maintype="application", subtype="pdf", filename=a.attach)


if a.dsn:
    action = "failed" if a.dsn.startswith("5") else "delayed"
    dsn = (
        "From: MAILER-DAEMON@mx.example.net\r\nTo: " + a.rcpts + "\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: " + msg["Message-ID"] + "\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; someone@example.net\r\nAction: " + action + "\r\n"
        "Status: " + a.dsn + "\r\nDiagnostic-Code: smtp; 550 " + a.dsn + " mailbox unknown\r\n"
        "\r\n--b--\r\n"
    ).encode()


def out(stage, code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    message_id = "" if raw is not None else msg["Message-ID"]
    print(json.dumps({"stage": stage, "code": code, "text": text, "message_id": message_id}))
    sys.exit(0)


with smtplib.SMTP(a.host, a.port, timeout=30) as s:
    s.ehlo("client.example.org")
    if not a.no_tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx)
        s.ehlo("client.example.org")
    if a.login != "-":
        try:
            s.login(a.login, a.password)
        except smtplib.SMTPAuthenticationError as e:
            out("auth", e.smtp_code, e.smtp_error)
    code, text = s.mail("" if a.dsn else a.sender)
    if code >= 400:
        out("mail", code, text)
    for r in a.rcpts.split(","):
        code, text = s.rcpt(r)
        if code >= 400:
            out("rcpt", code, text)
    try:
        code, text = s.data(raw if raw is not None else dsn if a.dsn else msg.as_bytes())
    except smtplib.SMTPDataError as e:
        out("data", e.smtp_code, e.smtp_error)
    out("sent" if code < 400 else "data", code, text)
