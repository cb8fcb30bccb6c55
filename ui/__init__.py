"""Streamlit helpers shared by app.py, desk.py and the pages: login gate, role guard, cached engine."""
