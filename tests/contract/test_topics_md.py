"""The committed TOPICS.md is what the contract renders."""

from mqtt_topics import docs


def test_topics_md_is_current():
    assert docs.TOPICS_MD.read_text(encoding="utf-8") == docs.render(), \
        "mqtt_topics/TOPICS.md is stale: run python -m mqtt_topics.docs"
