#!/usr/bin/env bash
# The biometric check's native libraries, model files and test images, installed idempotently.
#
# - Debian packages libdlib-dev and libopenblas-dev (the `dlib-face-recognition` crate links
#   against them; its `openblas` feature links -lopenblas, not -lcblas).
# - dlib's model files, from the PyPI source archive face_recognition_models==0.3.0 (CC0),
#   into ${KYC_MODELS_DIR:-$HOME/.cache/kyc-credentials/models}.
# - Test images (issuer/tests/biometric.rs, issuer/benches/biometric.rs), into
#   ${KYC_TEST_IMAGES_DIR:-$HOME/.cache/kyc-credentials/test-images}: the face_recognition==1.3.0
#   source archive's tests/test_images/ and scikit-image 0.22.0's skimage/data/astronaut.png
#   (public domain).
#
# Every file is checked against the SHA-256 pinned below; a file already in place with the right
# sum is left alone, a wrong sum stops the script.
set -euo pipefail

models_dir="${KYC_MODELS_DIR:-$HOME/.cache/kyc-credentials/models}"
images_dir="${KYC_TEST_IMAGES_DIR:-$HOME/.cache/kyc-credentials/test-images}"

if ! dpkg -s libdlib-dev libopenblas-dev >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdlib-dev libopenblas-dev
fi

declare -A MODELS=(
  [shape_predictor_5_face_landmarks.dat]=c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888
  [dlib_face_recognition_resnet_model_v1.dat]=55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30
  [mmod_human_face_detector.dat]=4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6
)
declare -A FACE_IMAGES=(
  [obama.jpg]=0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6
  [obama2.jpg]=a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6
  [obama3.jpg]=76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3
  [biden.jpg]=3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c
)
ASTRONAUT_SHA256=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5

# has_sum FILE SHA256: the file exists and has that sum.
has_sum() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# install_checked SRC DEST SHA256: copy SRC to DEST (atomically) if its sum is right, else fail.
install_checked() {
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$got" != "$3" ]; then
    echo "setup-biometrics: SHA-256 mismatch for $(basename "$2"): expected $3, got $got" >&2
    exit 1
  fi
  cp "$1" "$2.part" && mv "$2.part" "$2"
}

# missing DIR ASSOC-ARRAY-NAME: names in the array whose file in DIR is absent or wrong.
missing() {
  local -n files="$2"
  local name
  for name in "${!files[@]}"; do
    has_sum "$1/$name" "${files[$name]}" || echo "$name"
  done
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# pip_sdist SPEC: download one source archive into $work (no dependencies, nothing installed).
pip_sdist() {
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    "$1" -d "$work" >&2
}

mkdir -p "$models_dir" "$images_dir"

if [ -n "$(missing "$models_dir" MODELS)" ]; then
  pip_sdist face_recognition_models==0.3.0
  tar -xzf "$work/face_recognition_models-0.3.0.tar.gz" -C "$work" \
    --wildcards 'face_recognition_models-0.3.0/face_recognition_models/models/*.dat'
  for name in $(missing "$models_dir" MODELS); do
    install_checked "$work/face_recognition_models-0.3.0/face_recognition_models/models/$name" \
      "$models_dir/$name" "${MODELS[$name]}"
  done
fi

if [ -n "$(missing "$images_dir" FACE_IMAGES)" ]; then
  pip_sdist face_recognition==1.3.0
  tar -xzf "$work/face_recognition-1.3.0.tar.gz" -C "$work" \
    --wildcards 'face_recognition-1.3.0/tests/test_images/*'
  for name in $(missing "$images_dir" FACE_IMAGES); do
    install_checked "$work/face_recognition-1.3.0/tests/test_images/$name" \
      "$images_dir/$name" "${FACE_IMAGES[$name]}"
  done
fi

if ! has_sum "$images_dir/astronaut.png" "$ASTRONAUT_SHA256"; then
  # scikit-image's source archive builds its metadata with meson and compiled build
  # dependencies before pip will save it, so the picture comes from a wheel: one pinned
  # target, whatever this machine's Python, since only a data file is taken from it.
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
    --python-version 3.11 --implementation cp --abi cp311 --platform manylinux2014_x86_64 \
    scikit-image==0.22.0 -d "$work" >&2
  python3 - "$work" <<'PY'
import glob, sys, zipfile
work = sys.argv[1]
(wheel,) = glob.glob(f"{work}/scikit_image-0.22.0-*.whl")
with zipfile.ZipFile(wheel) as z, open(f"{work}/astronaut.png", "wb") as out:
    out.write(z.read("skimage/data/astronaut.png"))
PY
  install_checked "$work/astronaut.png" "$images_dir/astronaut.png" "$ASTRONAUT_SHA256"
fi

echo "setup-biometrics: models in $models_dir, test images in $images_dir" >&2
