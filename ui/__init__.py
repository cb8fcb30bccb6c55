"""Streamlit helpers shared by app.py and the pages: login gate, role guard, cached engine."""
