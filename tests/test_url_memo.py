"""sipflow.routing.remembering_url_for: the templates' url_for, Flask's address built once and remembered."""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from hypothesis import given
from hypothesis import strategies as st

from sipflow.routing import URLS_KEPT, remembering_url_for


@pytest.fixture
def site():
    """A Flask app with a few routes; Flask's url_for counted (the memo builds through it)."""
    app = Flask(__name__)
    app.add_url_rule("/cases/<uid>", "detail", lambda uid: uid)
    app.add_url_rule("/cases/<uid>/parts/<int:number>", "part", lambda uid, number: uid)
    app.add_url_rule("/menu", "menu", lambda: "")
    built = []
    flask_url_for = app.url_for

    def counted(endpoint, **values):
        built.append(endpoint)
        return flask_url_for(endpoint, **values)

    app.url_for = counted
    app.built = built
    return app


def test_an_address_asked_again_is_not_built_again(site):
    memo = remembering_url_for(site)
    with site.test_request_context("/"):
        first = memo("part", uid="abc", number=3)
        again = memo("part", uid="abc", number=3)
        other = memo("part", uid="abc", number=4)
    assert first == again == "/cases/abc/parts/3"
    assert other == "/cases/abc/parts/4"
    assert site.built == ["part", "part"]


def test_the_script_root_is_part_of_the_address(site):
    memo = remembering_url_for(site)
    with site.test_request_context("/", base_url="http://localhost/region/"):
        under_region = memo("menu")
    with site.test_request_context("/", base_url="http://localhost/kommun/"):
        under_kommun = memo("menu")
    assert (under_region, under_kommun) == ("/region/menu", "/kommun/menu")


def test_equal_values_of_other_types_are_other_addresses(site):
    memo = remembering_url_for(site)
    with site.test_request_context("/"):
        # True == 1, and they hash alike: the key holds the type too.
        assert memo("menu", shown=True) == "/menu?shown=True"
        assert memo("menu", shown=1) == "/menu?shown=1"


def test_what_depends_on_more_is_built_each_time(site):
    memo = remembering_url_for(site)
    with site.test_request_context("/"):
        assert memo("menu", _anchor="top") == "/menu#top"
        assert memo("menu", _anchor="top") == "/menu#top"
        assert memo("menu", tag=["a", "b"]) == "/menu?tag=a&tag=b"
        assert memo("menu", tag=["a", "b"]) == "/menu?tag=a&tag=b"
    assert site.built == ["menu"] * 4


def test_outside_a_request_flask_answers(site):
    site.config["SERVER_NAME"] = "sip.example"
    memo = remembering_url_for(site)
    with site.app_context():
        assert memo("menu") == "http://sip.example/menu"


def test_a_refused_build_raises_and_is_not_kept(site):
    memo = remembering_url_for(site)
    with site.test_request_context("/"):
        with pytest.raises(Exception, match="part"):
            memo("part", uid="abc")
        assert memo("part", uid="abc", number=1) == "/cases/abc/parts/1"


def test_the_memory_is_bounded(site):
    memo = remembering_url_for(site)
    with site.test_request_context("/"):
        for number in range(URLS_KEPT + 1):
            memo("part", uid="x", number=number)
        memo("part", uid="x", number=0)
    # The first address was forgotten when the memory filled, and built again.
    assert len(site.built) == URLS_KEPT + 2


@given(uid=st.text(min_size=1, max_size=20), number=st.integers(min_value=0, max_value=10**12))
def test_every_address_is_flasks(uid, number):
    app = Flask(__name__)
    app.add_url_rule("/cases/<uid>/parts/<int:number>", "part", lambda uid, number: uid)
    memo = remembering_url_for(app)
    with app.test_request_context("/"):
        expected = url_for("part", uid=uid, number=number)
        assert memo("part", uid=uid, number=number) == expected
        assert memo("part", uid=uid, number=number) == expected
