"""The Streamlit pages; ``app.py`` only wires them together."""
