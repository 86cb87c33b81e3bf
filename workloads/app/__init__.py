"""The Streamlit app of the platform: predict, batch scoring, model, monitoring and
platform health. ``main.run()`` is the entry point; every page says plainly when a
service it needs is down instead of failing."""
