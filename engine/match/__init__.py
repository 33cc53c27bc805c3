"""`gopolicy match`: our engine against another GTP engine (runner.py), driven through a GTP
client of engine subprocesses (client.py)."""
