from __future__ import annotations

import pytest

from pipeline.errors import MappingError
from pipeline.face import Face, Gender
from pipeline.mapping import MappingDecision, apply_overrides, default_mapping, parse_mapping_json

M, F, U = Gender.MALE, Gender.FEMALE, Gender.UNKNOWN


def _faces(*specs: tuple[Gender, float]) -> list[Face]:
    """Faces left to right; each spec is (gender, box side). Detection score 1."""
    faces, x = [], 0.0
    for gender, side in specs:
        faces.append(
            Face(
                bbox=(x, 0.0, x + side, side),
                kps=((x, 0.0),) * 5,
                det_score=1.0,
                gender=gender,
                gender_score=0.9,
            )
        )
        x += side + 10
    return faces


def test_husband_and_wife_go_to_the_most_prominent_male_and_female() -> None:
    decision = default_mapping(_faces((F, 80), (M, 100), (F, 120), (M, 90), (U, 200)))
    assert decision == MappingDecision(roles={0: "keep", 1: "husband", 2: "wife", 3: "keep", 4: "keep"})


def test_prominence_weighs_the_detection_score() -> None:
    faces = _faces((M, 100), (M, 90), (F, 50))
    faces[0] = Face(bbox=faces[0].bbox, kps=faces[0].kps, det_score=0.5, gender=M)  # 5000 < 8100
    assert default_mapping(faces).roles == {0: "keep", 1: "husband", 2: "wife"}


def test_couple_in_reverse_order() -> None:
    assert default_mapping(_faces((F, 100), (M, 100))).roles == {0: "wife", 1: "husband"}


@pytest.mark.parametrize(
    "genders",
    [(M, M), (F, F), (U, U), (M, U), (U, F, U), (M, M, M)],
)
def test_fallback_uses_the_two_leftmost_faces(genders: tuple[Gender, ...]) -> None:
    decision = default_mapping(_faces(*[(gender, 100 + 10 * i) for i, gender in enumerate(genders)]))
    assert decision.roles[0] == "husband" and decision.roles[1] == "wife"
    assert all(role == "keep" for index, role in decision.roles.items() if index > 1)
    assert decision.fallback is True
    assert decision.note is not None and "leftmost" in decision.note and "\n" not in decision.note


@pytest.mark.parametrize(("gender", "role"), [(F, "wife"), (M, "husband"), (U, "husband")])
def test_single_face_gets_the_role_of_its_gender(gender: Gender, role: str) -> None:
    decision = default_mapping(_faces((gender, 100)))
    assert decision.roles == {0: role}
    assert decision.fallback is True and decision.note


def test_no_face() -> None:
    decision = default_mapping([])
    assert decision.roles == {} and decision.fallback is True and decision.note


def test_index_of() -> None:
    decision = default_mapping(_faces((F, 80), (M, 100)))
    assert decision.index_of("husband") == 1 and decision.index_of("wife") == 0
    assert MappingDecision().index_of("wife") is None


def test_overrides_move_a_role_and_keep_the_rest() -> None:
    default = {0: "husband", 1: "wife", 2: "keep"}
    assert apply_overrides(default, {"2": "husband"}, 3) == {0: "keep", 1: "wife", 2: "husband"}
    assert apply_overrides(default, {1: "keep"}, 3) == {0: "husband", 1: "keep", 2: "keep"}
    assert apply_overrides(default, {"0": "wife", "1": "husband"}, 3) == {0: "wife", 1: "husband", 2: "keep"}


def test_overrides_can_name_a_role_twice_on_purpose() -> None:
    default = {0: "husband", 1: "wife", 2: "keep"}
    assert apply_overrides(default, {"0": "husband", "2": "husband"}, 3) == {
        0: "husband",
        1: "wife",
        2: "husband",
    }


def test_empty_overrides_return_the_default() -> None:
    default = {0: "husband", 1: "wife"}
    result = apply_overrides(default, {}, 2)
    assert result == default and result is not default


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"5": "wife"}, "face 5 does not exist"),
        ({"-1": "wife"}, "whole number"),
        ({-1: "wife"}, "negative"),
        ({"x": "wife"}, "whole number"),
        ({"1.5": "wife"}, "whole number"),
        ({True: "wife"}, "whole number"),
        ({"0": "bride"}, "role must be husband, wife or keep"),
        ({"0": None}, "role must be"),
        ({"0": "wife", "00": "keep"}, "named twice"),
    ],
)
def test_bad_overrides_raise_mapping_error(overrides: dict, reason: str) -> None:
    with pytest.raises(MappingError, match=reason) as caught:
        apply_overrides({0: "husband", 1: "wife", 2: "keep"}, overrides, 3)
    assert "\n" not in str(caught.value)


def test_overrides_must_be_a_mapping() -> None:
    with pytest.raises(MappingError):
        apply_overrides({0: "husband"}, ["0", "wife"], 1)  # type: ignore[arg-type]


def test_parse_mapping_json() -> None:
    assert parse_mapping_json('{"0": "husband", "2": "Wife ", "1": "keep"}') == {
        0: "husband",
        2: "wife",
        1: "keep",
    }
    assert parse_mapping_json("{}") == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('["husband"]', "JSON object"),
        ('{"a": "husband"}', "whole number"),
        ('{"0": 1}', "role must be"),
        ('{"0": "husband", "0 ": "wife"}', "named twice"),
    ],
)
def test_parse_mapping_json_errors(text: str, reason: str) -> None:
    with pytest.raises(MappingError, match=reason) as caught:
        parse_mapping_json(text)
    assert "\n" not in str(caught.value)
