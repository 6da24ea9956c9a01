"""Opens one TLS SMTP session, tells which certificate the server presented, and with a login
holds the session mid-transaction until told to finish it.

Usage: smtp_hold.py HOST PORT starttls|implicit [LOGIN PASSWORD FROM RCPT]
Prints {"cert": HEX} (the server's certificate, DER) once TLS is up. Without LOGIN it then
quits. With LOGIN it authenticates, sends MAIL and RCPT, prints the line, waits for a line on
standard input, sends the message (DATA) and prints {"code": N, "text": "..."}.
"""
import json
import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import make_msgid

host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
login = sys.argv[4:8]

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

if mode == "implicit":
    s = smtplib.SMTP_SSL(host, port, context=ctx, timeout=60)
    s.ehlo("client.example.org")
else:
    s = smtplib.SMTP(host, port, timeout=60)
    s.ehlo("client.example.org")
    s.starttls(context=ctx)
    s.ehlo("client.example.org")
cert = s.sock.getpeercert(binary_form=True).hex()

if not login:
    print(json.dumps({"cert": cert}), flush=True)
    s.quit()
    sys.exit(0)

user, password, sender, rcpt = login
s.login(user, password)
code, text = s.mail(sender)
assert code == 250, (code, text)
code, text = s.rcpt(rcpt)
assert code == 250, (code, text)
print(json.dumps({"cert": cert}), flush=True)
sys.stdin.readline()

msg = EmailMessage()
msg["From"] = sender
msg["To"] = rcpt
msg["Subject"] = "Sitzung vor dem Neuladen begonnen"
msg["Message-ID"] = make_msgid(domain="example.org")
msg.set_content("Liebe Mitglieder,\n\ndiese Nachricht kam durch eine offene Sitzung.\n")
try:
    code, text = s.data(msg.as_bytes())
except smtplib.SMTPDataError as e:
    code, text = e.smtp_code, e.smtp_error
print(json.dumps({"code": code, "text": text.decode("utf-8", "replace")}), flush=True)
s.quit()
