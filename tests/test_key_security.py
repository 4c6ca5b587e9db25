"""The key, protected: encrypted with a passphrase, reused across runs, never printed.

A wrong passphrase stops the run and changes nothing; ``qualcode reidentify`` restores the
originals only inside the key's own folder; and no command ever prints the passphrase, the key or
an original name (checked against every name and alias in the register).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import SAMPLE
from qualcode.cli import main
from qualcode.pseudonymise import ENCRYPTED_LOG_FILENAME, LOG_FILENAME, parse_log
from qualcode.pseudonymise.vault import ENVELOPE, PASSPHRASE_VARIABLE, decrypt
from qualcode.register import load_register

PASSPHRASE = "correct horse battery staple 7"
WRONG_PASSPHRASE = "Tr0ub4dor&3"
DOCUMENT = "interview_01_police.txt"


@dataclass
class Project:
    src: Path
    out: Path
    key: Path
    outputs: list[Result]  # every command run, for the never-printed check

    def invoke(self, *args: str, passphrase: str = PASSPHRASE) -> Result:
        result = CliRunner().invoke(main, list(args), env={PASSPHRASE_VARIABLE: passphrase})
        self.outputs.append(result)
        return result

    def pseudonymise(self, *options: str, passphrase: str = PASSPHRASE) -> Result:
        return self.invoke("pseudonymise", str(self.src), "--out", str(self.out), "--key", str(self.key),
                           "--workers", "1", "--quiet", *options, passphrase=passphrase)

    def files(self) -> dict[str, bytes]:
        """The bytes of the outputs and of the secure folder, to prove a failed run changed nothing."""
        return {str(path): path.read_bytes() for folder in (self.out, self.key.parent)
                for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    """Two sample interviews and their register, pseudonymised once with an encrypted key."""
    root = tmp_path_factory.mktemp("keyed")
    src = root / "src"
    src.mkdir()
    for name in (DOCUMENT, "interview_03_idva.txt", "participants.csv"):
        shutil.copy(SAMPLE / name, src / name)
    project = Project(src, root / "outputs" / "pseudonymised", root / "secure" / "key.json", [])
    result = project.pseudonymise("--encrypt-key")
    assert result.exit_code == 0, result.output
    return project


@pytest.fixture(scope="module")
def originals(project) -> list[str]:
    register = load_register(project.src / "participants.csv")
    return sorted({part for name in register.all_names for part in (name, *name.split())})


def key_mapping(project: Project) -> dict:
    return json.loads(decrypt(project.key.read_text(encoding="utf-8"), PASSPHRASE, project.key))


def test_the_key_is_an_envelope_without_any_original(project, originals):
    data = project.key.read_bytes()
    envelope = json.loads(data)
    assert envelope["format"] == ENVELOPE and envelope["kdf"] == "scrypt" and envelope["cipher"] == "AES-256-GCM"
    for original in originals:
        if len(original) >= 6:  # shorter ones could turn up by chance in the base64 ciphertext
            assert original.lower().encode() not in data.lower(), original
    assert key_mapping(project)["people"]["rachel okafor"]  # and the passphrase opens it


def test_a_later_run_with_the_passphrase_reuses_every_pseudonym(project):
    before, mapping = project.files(), key_mapping(project)
    result = project.pseudonymise()  # no --encrypt-key: an encrypted key stays encrypted
    assert result.exit_code == 0, result.output
    after = project.files()
    assert {path: data for path, data in after.items() if path.startswith(str(project.out))} == \
        {path: data for path, data in before.items() if path.startswith(str(project.out))}
    assert json.loads(project.key.read_bytes())["format"] == ENVELOPE
    assert key_mapping(project) == mapping


def test_a_wrong_passphrase_is_one_clear_line_and_changes_nothing(project):
    before = project.files()
    result = project.pseudonymise(passphrase=WRONG_PASSPHRASE)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"qualcode: error: {project.key}: wrong passphrase (or a damaged key); nothing was changed"]
    assert project.files() == before


def test_reidentify_restores_the_originals_inside_the_secure_folder(project):
    result = project.invoke("reidentify", str(project.out / DOCUMENT), "--key", str(project.key))
    assert result.exit_code == 0, result.output
    restored = project.key.parent / "reidentified" / DOCUMENT
    assert result.stderr.strip() == f"wrote {restored}"
    text = restored.read_text(encoding="utf-8")
    pseudonym = key_mapping(project)["people"]["rachel okafor"]
    assert "\nRachel Okafor: " in text and f"{pseudonym}:" not in text
    assert restored.stat().st_mode & 0o077 == 0  # owner-only, like the key


@pytest.mark.parametrize("outside", ["outputs/restored.txt", "elsewhere/restored.txt"])
def test_reidentify_refuses_to_write_outside_the_keys_folder(project, outside):
    target = project.key.parent.parent / outside
    result = project.invoke("reidentify", str(project.out / DOCUMENT), "--key", str(project.key),
                            "--out", str(target))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"qualcode: error: {target}: re-identified text holds originals: write it inside {project.key.parent}"]
    assert not target.exists()


def test_with_an_encrypted_key_the_review_log_is_encrypted_too(project, originals):
    secure = project.key.parent
    assert not (secure / LOG_FILENAME).exists()
    data = (secure / ENCRYPTED_LOG_FILENAME).read_bytes()
    assert json.loads(data)["format"] == ENVELOPE
    for original in originals:
        if len(original) >= 6:
            assert original.lower().encode() not in data.lower(), original
    assert (secure / ENCRYPTED_LOG_FILENAME).stat().st_mode & 0o077 == 0


def test_qualcode_log_prints_the_decrypted_log_for_the_key_holder(project):
    # not project.invoke: this command prints originals on purpose, for the key holder
    result = CliRunner().invoke(main, ["log", "--key", str(project.key)], env={PASSPHRASE_VARIABLE: PASSPHRASE})
    assert result.exit_code == 0, result.output
    rows = parse_log(result.stdout)
    assert {"document", "original", "replacement", "detector"} <= set(rows[0])
    assert any(row["original"] == "Rachel Okafor" for row in rows)
    wrong = CliRunner().invoke(main, ["log", "--key", str(project.key)], env={PASSPHRASE_VARIABLE: WRONG_PASSPHRASE})
    assert wrong.exit_code == 1 and "wrong passphrase" in wrong.stderr and "Rachel" not in wrong.stdout


def test_switching_to_encryption_leaves_no_plain_log(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in (DOCUMENT, "participants.csv"):
        shutil.copy(SAMPLE / name, src / name)
    project = Project(src, tmp_path / "out", tmp_path / "secure" / "key.json", [])
    assert project.pseudonymise().exit_code == 0  # plain key, plain log
    assert (project.key.parent / LOG_FILENAME).exists()
    shutil.rmtree(project.key.parent)  # a new key, encrypted this time, in the same folder
    project.key.parent.mkdir()
    (project.key.parent / LOG_FILENAME).write_text("document,original\nx,Rachel Okafor\n", encoding="utf-8")
    assert project.pseudonymise("--encrypt-key").exit_code == 0
    assert sorted(path.name for path in project.key.parent.iterdir()) == sorted([ENCRYPTED_LOG_FILENAME, "key.json"])


def test_reidentify_refuses_a_file_another_key_made(project, tmp_path):
    """Another study's key (same register, another corpus) must not restore names into this file."""
    other_src = tmp_path / "src"
    other_src.mkdir()
    for name in ("interview_02_council.txt", "participants.csv"):
        shutil.copy(SAMPLE / name, other_src / name)
    other = Project(other_src, tmp_path / "out", tmp_path / "secure" / "key.json", [])
    assert other.pseudonymise("--encrypt-key").exit_code == 0
    result = project.invoke("reidentify", str(project.out / DOCUMENT), "--key", str(other.key))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"qualcode: error: {project.out / DOCUMENT}: this key did not pseudonymise this file (corpus fingerprint "
        "mismatch): use the key of the study it came from; nothing was written"]
    assert not (other.key.parent / "reidentified").exists()


@pytest.mark.parametrize("content, problem", [
    ('{"version": 1, "people": [], "documents": {}, "originals": {}, "entities": {}}', "'people' must map text"),
    ('{"version": 1, "people": {}, "documents": {}, "originals": {}, "entities": {"PERSON": [1]}}', "'entities'"),
    ('{"version": 1, "people": {}, "documents": {}, "originals": {}, "entities": {}}', "no corpus fingerprint"),
    ('["not", "a", "key"]', "not a qualcode key (expected version 1)"),
])
def test_a_key_of_the_wrong_shape_is_one_clear_line(project, tmp_path, content, problem):
    key = tmp_path / "secure" / "key.json"
    key.parent.mkdir()
    key.write_text(content, encoding="utf-8")
    for args in (["reidentify", str(project.out / DOCUMENT), "--key", str(key)],
                 ["pseudonymise", str(project.src), "--out", str(tmp_path / "out"), "--key", str(key), "--quiet"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"qualcode: error: {key}: not a qualcode key") and problem in line
    assert not (tmp_path / "out").exists() and not (key.parent / "reidentified").exists()


def test_no_command_prints_the_passphrase_the_key_or_an_original(project, originals):
    """Runs after the others in this module (pytest keeps file order), so it sees all their output."""
    assert len(project.outputs) >= 6
    key_text = project.key.read_text(encoding="utf-8")
    secrets = [PASSPHRASE, WRONG_PASSPHRASE, json.loads(key_text)["ciphertext"][:24]]
    for result in project.outputs:
        printed = result.stdout + result.stderr
        assert not [secret for secret in secrets if secret in printed]
        assert not [name for name in originals if re.search(rf"\b{re.escape(name)}\b", printed)], printed
