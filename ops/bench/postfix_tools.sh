# Shared by the SMTP benchmark scripts (sourced, not run): Postfix's smtp-source and smtp-sink,
# and everything of common.sh.
# shellcheck shell=bash

smtp_source=/usr/sbin/smtp-source
smtp_sink=/usr/sbin/smtp-sink
if [[ ! -x $smtp_source || ! -x $smtp_sink ]]; then
  echo "installing postfix (for smtp-source and smtp-sink) …"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix > /dev/null
  # Only the two test tools are wanted: the system mail daemon must not hold port 25.
  postfix stop > /dev/null 2>&1 || true
fi
sink_user=()
[[ $EUID -eq 0 ]] && sink_user=(-u nobody) # smtp-sink refuses to run as root

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
