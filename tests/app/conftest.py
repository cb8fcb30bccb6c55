import pytest


@pytest.fixture(autouse=True)
def fresh_state():
    """A page must use this test's database, not an engine or frames cached by another test."""
    import streamlit as st

    from ui import state

    state.engine.clear()
    st.cache_data.clear()
    yield
    state.engine.clear()
    st.cache_data.clear()
