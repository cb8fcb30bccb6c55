"""Pure rules of receivables: plain Python, no database, no Streamlit, no clock (today is a parameter)."""
