"""What Elasticsearch adds or reshapes on GET is not a difference; a real change still is."""

from __future__ import annotations

from sre.elk.normalize import normalize


def test_index_template_as_returned_equals_the_body_sent() -> None:
    sent = {
        "index_patterns": ["logs-cdn-*"],
        "data_stream": {},
        "priority": 200,
        "template": {"settings": {"index": {"lifecycle": {"name": "p"}, "number_of_replicas": 1}}},
        "_meta": {"managed_by": "sre", "content_hash": "sha256:1", "source_commit": "abc"},
        "version": 3,
    }
    returned = {
        "index_patterns": ["logs-cdn-*"],
        "data_stream": {"hidden": False, "allow_custom_routing": False},
        "priority": 200,
        "composed_of": [],
        "template": {"settings": {"index": {"number_of_replicas": "1", "lifecycle": {"name": "p"}}}},
        "_meta": {"managed_by": "sre", "content_hash": "sha256:1", "source_commit": "def"},
        "version": 3,
        "created_date": "2024-01-01T12:00:00.000Z",
        "created_date_millis": 1704110400000,
        "modified_date": "2025-01-01T12:00:00.000Z",
        "modified_date_millis": 1735732800000,
    }
    assert normalize("index_templates", returned) == normalize("index_templates", sent)
    # A template's version is set by its author, not by Elasticsearch: another one is a change.
    assert normalize("index_templates", {**returned, "version": 4}) != normalize("index_templates", sent)
    returned["priority"] = 150
    assert normalize("index_templates", returned) != normalize("index_templates", sent)


def test_dotted_and_nested_settings_are_one_setting() -> None:
    a = {"template": {"settings": {"index.refresh_interval": "5s", "codec": "best_compression"}}}
    b = {"template": {"settings": {"index": {"refresh_interval": "5s", "codec": "best_compression"}}}}
    assert normalize("component_templates", a) == normalize("component_templates", b)
    c = {"template": {"settings": {"index": {"hidden": True}}}}
    d = {"template": {"settings": {"index": {"hidden": "true"}}}}
    assert normalize("component_templates", c) == normalize("component_templates", d)


def test_empty_mappings_count_as_absent() -> None:
    assert normalize("component_templates", {"template": {"mappings": {"properties": {}}}}) == normalize(
        "component_templates", {"template": {}}
    )


def test_ilm_defaults_filled_in_by_elasticsearch() -> None:
    sent = {
        "policy": {
            "phases": {
                "hot": {"actions": {}},
                "warm": {"min_age": "7d", "actions": {"allocate": {"number_of_replicas": 1}}},
                "delete": {"min_age": "30d", "actions": {"delete": {}}},
            }
        }
    }
    allocate = {"number_of_replicas": 1, "include": {}, "exclude": {}, "require": {}}
    returned = {
        "policy": {
            "phases": {
                "hot": {"min_age": "0ms", "actions": {}},
                "warm": {"min_age": "7d", "actions": {"allocate": allocate}},
                "delete": {"min_age": "30d", "actions": {"delete": {"delete_searchable_snapshot": True}}},
            }
        }
    }
    assert normalize("ilm", returned) == normalize("ilm", sent)
    returned["policy"]["phases"]["delete"]["min_age"] = "60d"
    assert normalize("ilm", returned) != normalize("ilm", sent)
