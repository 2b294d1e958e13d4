"""The t1 check of `bench`: the sample couple into t1.jpg, judged by dlib's recogniser."""

from __future__ import annotations

import json

import pytest

from pipeline.classic import ClassicEngine
from pipeline.face import Face, Gender
from app.bench.t1_check import QualityReport, run_quality_check, t1_gender_score
from pipeline.samples import T1_FACE_CENTRES, T1_GENDERS_LEFT_TO_RIGHT, astronaut_rgb, sample_paths


@pytest.fixture(scope="module")
def classic_report(classic_engine: ClassicEngine) -> QualityReport:
    return run_quality_check(classic_engine)


def test_samples_are_present() -> None:
    paths = sample_paths()
    assert paths.t1.name == "t1.jpg" and paths.t1.is_file()
    assert paths.tom_hanks.name == "Tom_Hanks_54745.png" and paths.tom_hanks.is_file()
    assert astronaut_rgb().shape == (512, 512, 3)
    assert len(T1_GENDERS_LEFT_TO_RIGHT) == len(T1_FACE_CENTRES) == 6
    assert T1_GENDERS_LEFT_TO_RIGHT.count(Gender.MALE) == T1_GENDERS_LEFT_TO_RIGHT.count(Gender.FEMALE) == 3


def test_classic_engine_passes_the_quality_check(classic_report: QualityReport) -> None:
    assert classic_report.engine == "classic"
    assert classic_report.faces_detected == 6
    assert classic_report.gender_correct >= 5
    assert len(classic_report.mapped) == 2
    assert {face.role for face in classic_report.mapped} == {"husband", "wife"}
    for face in classic_report.mapped:
        assert face.moved_towards_source
        assert face.distance_to_source < face.original_distance_to_source
        assert face.distance_to_original > 0.1  # the face really changed
    assert classic_report.unmapped_untouched and classic_report.outside_regions_untouched
    assert classic_report.passed


def test_quality_report_is_json_friendly(classic_report: QualityReport) -> None:
    data = json.loads(json.dumps(classic_report.to_dict()))
    assert data["passed"] is True
    assert data["gender_accuracy"] == pytest.approx(classic_report.gender_correct / 6, abs=1e-4)
    assert set(data["roles"].values()) <= {"husband", "wife", "keep"}
    assert len(data["mapped"]) == 2


def _face_at(centre: tuple[float, float], gender: Gender) -> Face:
    x, y = centre
    return Face(bbox=(x - 40, y - 50, x + 40, y + 50), kps=((x, y),) * 5, det_score=0.9, gender=gender)


def test_t1_gender_score_matches_faces_by_position() -> None:
    truth = [_face_at(centre, gender) for centre, gender in zip(T1_FACE_CENTRES, T1_GENDERS_LEFT_TO_RIGHT)]
    assert t1_gender_score(truth) == (6, 6)
    flipped = [
        _face_at(face.kps[0], Gender.FEMALE if face.gender is Gender.MALE else Gender.MALE) for face in truth
    ]
    assert t1_gender_score(flipped) == (0, 6)
    assert t1_gender_score(truth[:3]) == (3, 6)  # missing faces count as wrong
    assert t1_gender_score([]) == (0, 6)
