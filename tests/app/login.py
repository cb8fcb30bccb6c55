"""Log a user in for an AppTest the way the login form leaves the session."""


def log_in(at, username: str, role: str, name: str | None = None):
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = name or username.title()
    at.session_state["roles"] = [role]
    return at
