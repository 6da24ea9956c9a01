# Shared by the benchmark scripts (sourced, not run): a work directory cleaned up with the
# server and sink processes, and port helpers.
# shellcheck shell=bash

work="$(mktemp -d)"
server_pid=""
sink_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2> /dev/null || true
  [[ -n $sink_pid ]] && kill "$sink_pid" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # port, pid, log
  for _ in $(seq 1 600); do
    if ! kill -0 "$2" 2> /dev/null; then
      echo "the process on port $1 exited:"; cat "$3"; exit 1
    fi
    if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2> /dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "port $1 did not open in 60 s:"; cat "$3"; exit 1
}
