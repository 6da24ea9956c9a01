#!/usr/bin/env python3
"""Submit a message over the verteiler API and follow its sends until they are done; standard library only.
Usage: VERTEILER_TOKEN=vt_… client.py BASE_URL FROM LIST SUBJECT TEXT  (BASE_URL e.g. http://127.0.0.1:8080)"""
import json, os, sys, time, urllib.request, uuid

base, sender, target, subject, text = sys.argv[1:6]
def call(method, path, body=None, **headers):
    headers |= {"Authorization": "Bearer " + os.environ["VERTEILER_TOKEN"], "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(base + "/api/v1" + path, data, headers, method=method)) as answer:
        return json.load(answer)
# Sent again with the same key (after a timeout, say), the request returns the first answer: never two sends.
submission = call("POST", "/submissions", {"from": sender, "subject": subject, "text": text, "lists": [target]},
                  **{"Idempotency-Key": str(uuid.uuid4())})
for send in submission["sends"]:
    while (state := call("GET", f"/sends/{send['send_id']}"))["state"] in ("scheduled", "sending"):
        time.sleep(1)
    print(send["list"], state["state"], json.dumps(state))
