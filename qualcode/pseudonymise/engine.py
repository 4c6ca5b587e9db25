"""The Presidio analyzer qualcode runs: a local spaCy model, NER only, and UK recognizers.

Presidio's stock spaCy engine downloads a missing model; qualcode's never does, and stops with
a clear error instead (fail closed). Only the components the named-entity recognizer needs run:
in ``en_core_web_sm`` the NER has its own internal tok2vec, so the shared tok2vec, tagger,
parser, attribute ruler and lemmatizer are all switched off. Presidio's context boosting reads
``token.lemma_``; with the lemmatizer off that is empty, so a tiny component sets the lemma to
the lower-cased word and boosting keeps working.
"""

from __future__ import annotations

import logging

from ..nlp import ner_pipeline
from ..register import Register
from .person_rules import NameListRecognizer, NameShapeRecognizer
from .recognizers import SPACY_LABELS, RoleLexicon, build_recognizers

LANGUAGE = "en"

for _name in ("presidio-analyzer", "presidio-anonymizer", "tldextract", "filelock"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def build_analyzer(model: str, register: Register, lexicon: RoleLexicon):
    """An ``AnalyzerEngine`` over a local NER-only spaCy pipeline and qualcode's recognizers."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    nlp = ner_pipeline(model)

    class LocalSpacyNlpEngine(SpacyNlpEngine):
        """Presidio's spaCy engine over an already-loaded pipeline: ``load`` never downloads."""

        def load(self) -> None:
            self.nlp = {LANGUAGE: nlp}

    ner_config = NerModelConfiguration(model_to_presidio_entity_mapping=dict(SPACY_LABELS),
                                       labels_to_ignore=[], low_score_entity_names=[])
    engine = LocalSpacyNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": model}],
                                 ner_model_configuration=ner_config)
    engine.load()
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in [*build_recognizers(register, lexicon), NameShapeRecognizer(), NameListRecognizer()]:
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[LANGUAGE])
