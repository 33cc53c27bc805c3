"""`gopolicy analysis` / `gopolicy-katago`: KataGo's JSON analysis protocol. Queries are checked
(query.py), answered (results.py), queued and batched (server.py) and served on stdin/stdout
(command.py)."""
