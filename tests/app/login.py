"""Log a user in for an AppTest the way the login form leaves the session."""


def log_in(at, username: str, role: str, name: str | None = None, language: str = "en"):
    """Logged in, and reading the screens in `language` (the tests that check words mostly read English)."""
    at.session_state["_language"] = language
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = name or username.title()
    at.session_state["roles"] = [role]
    return at
