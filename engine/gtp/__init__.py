"""`gopolicy gtp`: the Go Text Protocol (protocol.py, which knows no Go), the commands over a
game session (game_commands.py, analyze_commands.py, session.py), move choice (player.py)
and the command that puts them on stdin/stdout (command.py)."""
