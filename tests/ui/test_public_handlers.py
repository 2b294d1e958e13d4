"""The UI actions in public-demo mode: Yours and Shared apart, removing your own, refusals as gr.Error."""

from __future__ import annotations

import gradio as gr
import pytest

from app.context import AppContext
from app.services import sessions
from app.services import templates as template_service
from app.services.runs import Submit
from app.ui.actions import UIActions, run_limits
from tests.fixtures_data import SamplePhotos


def _noop(*_args: object, **_kwargs: object) -> None:
    pass


@pytest.fixture
def public_actions(ui_ctx: AppContext, run_now: Submit) -> UIActions:
    ui_ctx.settings = ui_ctx.settings.model_copy(update={"public_demo": True, "max_private_templates": 1})
    return UIActions(ui_ctx, run_now, start_crawl=_noop, limits=run_limits(ui_ctx))


def test_yours_and_shared_apart_and_removing_your_own(
    public_actions: UIActions, pair_template: int, photos: SamplePhotos
) -> None:
    alice, bob = sessions.new_session_id(), sessions.new_session_id()
    report = public_actions.add_templates([str(photos.t1)], "Our party", _noop, alice)
    assert "added as #" in report and "(private to you)" in report
    mine = public_actions.template_gallery(alice)
    assert mine.shared_ids == [pair_template] and len(mine.own_ids) == 1
    [own_id] = mine.own_ids
    assert mine.own[0][1].startswith("Our party · 6 faces")
    assert [value for _, value in mine.choices] == [str(own_id), str(pair_template)]  # own first
    assert public_actions.template_gallery(bob).own_ids == []
    _image, _info, removable, ready = public_actions.template_detail(own_id, alice)
    assert removable and ready
    assert not public_actions.template_detail(pair_template, alice)[2]  # shared: only the operator removes it
    with pytest.raises(gr.Error, match="does not exist"):
        public_actions.template_detail(own_id, bob)
    with pytest.raises(gr.Error, match="only the operator"):
        public_actions.remove_template(pair_template, alice)
    with pytest.raises(gr.Error, match="may keep at most 1"):
        public_actions.add_templates([str(photos.pair)], "", _noop, alice)
    assert "Removed **Our party**" in public_actions.remove_template(own_id, alice)
    assert public_actions.template_gallery(alice).own_ids == []
    assert template_service.list_templates(public_actions.ctx, viewer=alice)[0].id == pair_template


def test_a_visitor_cannot_crawl_and_the_page_says_it_is_a_demo(public_actions: UIActions) -> None:
    with pytest.raises(gr.Error, match="switched off in this public demo") as caught:
        public_actions.begin_crawl("https://example.com/wedding")
    assert "templates crawl URL" in caught.value.message
    assert "Public demo" in (public_actions.banner() or "")


def test_the_privacy_line_counts_your_templates(public_actions: UIActions, photos: SamplePhotos) -> None:
    sid = sessions.new_session_id()
    public_actions.add_templates([str(photos.pair)], "", _noop, sid)
    assert "1 template(s)" in public_actions.privacy_summary(sid)
    assert " 1 own template " in public_actions.delete_my_data(sid)
    assert public_actions.privacy_summary(sid) == "Nothing of yours is stored right now."


def test_operator_advice_is_not_shown_to_visitors(public_actions: UIActions, run_now: Submit) -> None:
    from app.services.engine_status import engine_status

    status = engine_status(public_actions.ctx)
    line, _ready = public_actions.engine_line()
    assert "app.py" not in line and "models download" not in line and status.line in line
    local_ctx = public_actions.ctx
    local_ctx.settings = local_ctx.settings.model_copy(update={"public_demo": False})
    local_line, _ = UIActions(local_ctx, run_now).engine_line()
    assert status.hint is None or status.hint.replace("`", "") in local_line  # the operator still sees it
