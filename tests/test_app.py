"""The Streamlit page, driven through Streamlit's own AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from interviewer.config import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")


def test_question_bank_page_searches_and_filters() -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Interviewer"
    assert "offline" in at.caption[0].value
    at.text_input[0].input("how do you choose a shard key").run()
    assert not at.exception
    cards = [m.value for m in at.markdown if m.value.startswith("**")]
    assert cards, "results are shown as cards"
    at.selectbox[1].select("behavioral").run()
    captions = [c.value for c in at.main.caption if "· `" in c.value]
    assert captions and all(c.startswith("behavioral") for c in captions)
