"""``pynf serve``: a state file held in memory, so commands on a 20,000-Service state take milliseconds.

A ``pynf iptables/ipset/restore --state STATE`` command on its own reads the
whole state, parses it, applies one change and writes the whole file back:
seconds on a large host.  ``pynf serve --state STATE`` reads it once and keeps
it; the same commands, unchanged, find it and let it run them.

Server.  It takes the state's lock (pynetfilter.io.statefile: the one every
writer takes, as iptables takes xtables.lock) and holds it while it runs, so a
writer that knows nothing of servers (``PYNF_NO_SERVER=1``) waits, as iptables
waits, and never writes under it.  It listens on ``STATE.sock`` (STATE's real
path, mode 0600); a second server is refused while the first answers, and a
socket left by a dead one is replaced.  SIGTERM or SIGINT stops it: queued
commands are answered, the state text written, the journal removed.

Durability (pynetfilter.serve.journal).  Each change is a line appended to
``STATE.journal`` and fsync'ed before the command is answered: the command's
iptables words, its restore input, or the object lines after it.  The text is
rewritten (atomically, as every writer does) by a child process after
``--idle`` seconds without commands, and at shutdown.  Every reader without a
server (pynetfilter.cli.state.load_state) replays the journal on top of the
text, so an acknowledged change survives ``kill -9``; a torn last line was
never acknowledged and is ignored.

Client (pynetfilter.serve.client).  Before importing the ruleset model, a
command connects to the socket; if a server says hello, it sends its argv,
working directory, umask and terminal size, and prints what the server sends
back (stdout and stderr pieces in their order) and exits with its status:
byte for byte what the command prints when it runs alone (the server runs the
same code, pynetfilter.serve.session).  Read-only commands go to the server
too.  No server: the command runs as before, and if it waits for the lock while
a server starts, it hands itself over.

Protocol, version 1.  One request per connection over a SOCK_STREAM Unix
socket.  Every message is a frame (pynetfilter.serve.protocol): a 4-byte
big-endian header length, a JSON object, and raw bytes when the header has
``"body": N``.

    server -> client  {"pynf-serve": 1, "pid": P, "state": PATH}     hello, on accept
    client -> server  {"v": 1, "argv": ["iptables", "--state", ...], "cwd": DIR,
                       "umask": U, "columns": C, "lines": L, "stdin": BOOL}
                      + body: the client's stdin, when "stdin" is true
    server -> client  {"status": S, "out": [[1, N1], [2, N2], ...]} + body: the output
                      pieces, N bytes each, 1 for stdout and 2 for stderr, in order
                  or  {"need": "stdin"}     the command reads stdin: read it all, reconnect,
                                            send it (nothing ran: a slow producer blocks nobody)
                  or  {"error": "one line"} the client prints "pynf: <line>", exit status 1

A connection closed before the hello means the server never saw the command
(the client runs it itself); closed after it, the outcome is unknown and the
client says so (exit status 1).  A server answers one connection at a time.
"""
