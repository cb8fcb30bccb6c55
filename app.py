"""Debtor Desk's server: `streamlit run app.py` imports this module once when the server starts, which
prepares the database and prints the first admin password in the terminal before anyone visits, and then
serves desk.py (the login gate and the pages) to every browser session."""

import streamlit as st

from ui import state

state.start()
app = st.App("desk.py")
