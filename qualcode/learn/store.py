"""A learned coder on disk as data only, so loading one can never run code.

``DIR/`` holds three files, written together (the folder is swapped in whole):

- ``manifest.json``: the format, its version, and the sha256 of each file below;
- ``params.json``: the codebook it was trained for (name, version, ids, and a fingerprint of
  everything its features read from each code), the spaCy model, the hyper-parameters, the word
  and character TF-IDF vocabularies and settings, the codes it covers and a training summary;
- ``arrays.npz``: IDF weights, feature scaling, coefficients, intercepts and thresholds, as
  float64 arrays read with ``allow_pickle=False``.

The codebook features (:class:`~qualcode.features.CodebookFeatures`) are not stored: they are
fitted on the codebook and the shipped background alone, so loading refits them exactly.

Loading checks the manifest, then every checksum, then the format version, the codebook and
the spaCy model, and refuses any mismatch with a :class:`~qualcode.errors.QualcodeError`: a
coder applied to a codebook it was not trained for would code silently wrong. The checksums
catch edits and damage, not a forger who rewrites the manifest too: keep models where the
coded data is kept. The vocabulary holds words of the (pseudonymised) training segments.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from ..domain import Codebook
from ..errors import QualcodeError
from ..fsutil import staged_dir, write_bytes, write_text
from ..nlp import DocCache
from ..features import FEATURE_KINDS, CodebookFeatures
from .model import HYPERPARAMETERS, LearnedCoder

FORMAT = "qualcode-learned-coder"
FORMAT_VERSION = 2
MANIFEST, PARAMS, ARRAYS = "manifest.json", "params.json", "arrays.npz"
RETRAIN = "retrain it with `qualcode train`"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_fingerprints(codebook: Codebook) -> dict[str, str]:
    """Per code, a hash of everything the model's features read from it (not colours)."""
    return {code.id: sha256(json.dumps([code.parent, code.name, code.definition, code.include, code.exclude,
                                        code.keywords, [pattern.label for pattern in code.patterns], code.examples,
                                        code.counter_examples]).encode("utf-8"))[:16]
            for code in codebook.codes}


def spacy_identity(nlp) -> str:
    """The spaCy model the lemmas came from: another model lemmatises differently."""
    return f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}"


def vectorizer_settings(vectorizer) -> dict:
    """A TF-IDF vectorizer's settings as JSON values (its vocabulary and dtype are kept apart)."""
    settings = {name: list(value) if isinstance(value, tuple) else value
                for name, value in vectorizer.get_params().items() if name not in ("vocabulary", "dtype")}
    if not all(value is None or isinstance(value, (str, int, float, bool, list)) for value in settings.values()):
        raise ValueError("only vectorizers configured with plain values can be saved")
    return settings


def vocabulary(vectorizer) -> list[str]:
    return vectorizer.get_feature_names_out().tolist()


def restore_vectorizer(settings: dict, terms: list[str], idf: np.ndarray):
    """A fitted ``TfidfVectorizer`` from its settings, vocabulary and IDF weights."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    allowed = set(TfidfVectorizer().get_params()) - {"vocabulary", "dtype"}
    if not set(settings) <= allowed:
        raise ValueError(f"unknown vectorizer setting(s) {sorted(set(settings) - allowed)}")
    vectorizer = TfidfVectorizer(**{name: tuple(value) if isinstance(value, list) else value
                                    for name, value in settings.items()}, vocabulary=terms)
    vectorizer.idf_ = idf
    return vectorizer


# --- saving --------------------------------------------------------------------------------


def model_params(model: LearnedCoder, training: dict) -> dict:
    codebook = model.codebook
    return {
        "format_version": FORMAT_VERSION,
        "codebook": {"name": codebook.name, "version": codebook.version, "ids": list(codebook.ids),
                     "fingerprints": code_fingerprints(codebook)},
        "spacy_model": spacy_identity(model.nlp),
        "hyperparameters": model.hyperparameters(),
        "codes": list(model.codes_),
        "text_vectorizer": {"settings": vectorizer_settings(model.vectorizer_),
                            "vocabulary": vocabulary(model.vectorizer_)},
        "char_vectorizer": {"settings": vectorizer_settings(model.char_vectorizer_),
                            "vocabulary": vocabulary(model.char_vectorizer_)},
        "training": training,
    }


def model_arrays(model: LearnedCoder) -> dict[str, np.ndarray]:
    arrays = {"text_idf": model.vectorizer_.idf_, "char_idf": model.char_vectorizer_.idf_,
              "feature_mean": model.feature_mean_, "feature_scale": model.feature_scale_, "coef": model.coef_,
              "intercept": model.intercept_, "thresholds": model.thresholds_}
    return {name: np.asarray(array, dtype=np.float64) for name, array in arrays.items()}


def save_model(model: LearnedCoder, directory: Path, training: dict | None = None) -> Path:
    """Write the fitted ``model`` into ``directory``, replacing an older model there whole.

    A folder holding anything but a qualcode model is refused, so a mistyped ``--model-dir``
    cannot replace transcripts or outputs.
    """
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not (directory / MANIFEST).exists():
        raise QualcodeError("refusing to replace a folder that holds no qualcode model; choose an empty "
                            "--model-dir", directory)
    params = json.dumps(model_params(model, training or {}), ensure_ascii=False, indent=1).encode("utf-8")
    buffer = io.BytesIO()
    np.savez(buffer, **model_arrays(model))
    arrays = buffer.getvalue()
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "files": {PARAMS: sha256(params), ARRAYS: sha256(arrays)}}
    with staged_dir(directory) as staging:
        write_bytes(staging / PARAMS, params)
        write_bytes(staging / ARRAYS, arrays)
        write_text(staging / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return directory


# --- loading -------------------------------------------------------------------------------


def read_verified(directory: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The parameters and arrays of a saved model, after the manifest and checksums check out."""
    directory = Path(directory)
    manifest = _json(directory / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise QualcodeError(f"not a qualcode model (no {FORMAT!r} manifest)", directory / MANIFEST)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise QualcodeError(f"model format version {manifest.get('format_version')!r} is not supported "
                            f"(this qualcode reads version {FORMAT_VERSION}); {RETRAIN}", directory / MANIFEST)
    files = manifest.get("files")
    if set(manifest) != {"format", "format_version", "files"} or not isinstance(files, dict) \
            or set(files) != {PARAMS, ARRAYS}:
        raise QualcodeError(f"the manifest was edited: it must list exactly {PARAMS} and {ARRAYS}; {RETRAIN}",
                            directory / MANIFEST)
    data = {}
    for name, checksum in files.items():
        path = directory / name
        try:
            data[name] = path.read_bytes()
        except OSError:
            raise QualcodeError("model file missing or unreadable", path) from None
        if sha256(data[name]) != checksum:
            raise QualcodeError(f"refusing a tampered or damaged model: {name} does not match its sha256 in "
                                f"{MANIFEST}; {RETRAIN}", path)
    params = _json(directory / PARAMS, data[PARAMS])
    try:
        with np.load(io.BytesIO(data[ARRAYS]), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (ValueError, OSError) as error:
        raise QualcodeError(f"unreadable model arrays ({type(error).__name__}); {RETRAIN}",
                            directory / ARRAYS) from None
    return params, arrays


def check_compatible(params: dict, codebook: Codebook, nlp, directory: Path) -> None:
    """Refuse a model trained for another codebook, other code definitions or another spaCy model."""
    trained = params["codebook"]
    where = Path(directory) / PARAMS
    if tuple(trained["ids"]) != codebook.ids:
        raise QualcodeError(f"the model was trained for codebook {trained['name']!r} (version {trained['version']}) "
                            f"with codes {', '.join(trained['ids'])}; {codebook.name!r} has "
                            f"{', '.join(codebook.ids)}. Use the codebook it was trained for, or {RETRAIN}", where)
    changed = [code for code, fingerprint in code_fingerprints(codebook).items()
               if trained["fingerprints"].get(code) != fingerprint]
    if changed:
        raise QualcodeError(f"the definition, keywords or patterns of {', '.join(changed)} changed since the model "
                            f"was trained; {RETRAIN}", where)
    if params["spacy_model"] != spacy_identity(nlp):
        raise QualcodeError(f"the model was trained with the spaCy model {params['spacy_model']}, not "
                            f"{spacy_identity(nlp)}: lemmas would differ. Use that model, or {RETRAIN}", where)


def load_model(directory: Path, codebook: Codebook, nlp) -> LearnedCoder:
    """A saved learned coder, verified and checked against ``codebook`` and ``nlp``."""
    params, arrays = read_verified(directory)
    nlp = DocCache.around(nlp)  # the model reads each segment's lemmas and its rule layer's parse
    try:
        if params["format_version"] != FORMAT_VERSION:
            raise ValueError(f"format version {params['format_version']!r}")
        check_compatible(params, codebook, nlp, directory)
        return _restore(params, arrays, codebook, nlp)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise QualcodeError(f"malformed model parameters ({type(error).__name__}: {error}); {RETRAIN}",
                            Path(directory) / PARAMS) from None


def _hyperparameters(params: dict) -> dict:
    settings = params["hyperparameters"]
    if not isinstance(settings, dict) or set(settings) != set(HYPERPARAMETERS) \
            or not all(isinstance(value, (int, float)) for value in settings.values()):
        raise ValueError(f"hyper-parameters must be the numbers {', '.join(HYPERPARAMETERS)}")
    return settings


def _restore(params: dict, arrays: dict[str, np.ndarray], codebook: Codebook, nlp) -> LearnedCoder:
    """Rebuild the fitted coder from verified parameters."""
    text, chars = params["text_vectorizer"], params["char_vectorizer"]
    codes = tuple(params["codes"])
    if not set(codes) <= set(codebook.ids):
        raise ValueError("codes outside the codebook")
    _check_arrays(arrays, len(codes), len(text["vocabulary"]), len(chars["vocabulary"]), len(codebook.ids))
    model = LearnedCoder(codebook, nlp, **_hyperparameters(params))
    model.codes_ = codes
    model.vectorizer_ = restore_vectorizer(text["settings"], text["vocabulary"], arrays["text_idf"])
    model.char_vectorizer_ = restore_vectorizer(chars["settings"], chars["vocabulary"], arrays["char_idf"])
    model.features_ = CodebookFeatures(codebook, nlp).fit()
    model.feature_mean_, model.feature_scale_ = arrays["feature_mean"], arrays["feature_scale"]
    model.coef_, model.intercept_, model.thresholds_ = arrays["coef"], arrays["intercept"], arrays["thresholds"]
    return model


def _check_arrays(arrays: dict[str, np.ndarray], codes: int, words: int, chars: int, codebook_codes: int) -> None:
    """Every array present, float64 and shaped for the vocabularies and codes, so a bad file fails on load."""
    features = len(FEATURE_KINDS) * codebook_codes
    shapes = {"text_idf": (words,), "char_idf": (chars,), "feature_mean": (features,),
              "feature_scale": (features,), "coef": (codes, words + chars + features), "intercept": (codes,),
              "thresholds": (codes,)}
    if set(arrays) != set(shapes) or any(arrays[name].dtype != np.float64 or arrays[name].shape != shape
                                         for name, shape in shapes.items()):
        raise ValueError("the arrays do not fit the vocabularies and codes")


def _json(path: Path, data: bytes | None = None):
    try:
        return json.loads(path.read_bytes() if data is None else data)
    except FileNotFoundError:
        raise QualcodeError("no model here (missing file)", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise QualcodeError(f"unreadable model file ({type(error).__name__}); {RETRAIN}", path) from None
