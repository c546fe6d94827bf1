"""`drctl publish-evidence`: the sealed run copied to a version-level WORM container.

Azurite (3.37) neither reports version-level immutability on a container nor implements Set Blob
Immutability Policy (it answers 400 APINotImplemented), and keeps no blob versions. So Azurite
tests what it can: a container without version-level immutability is refused, nothing uploaded.
The copy itself goes through the real azure-storage-blob pipeline to a thin double of a WORM
container at the transport (no REST spec example covers blob data-plane calls): it versions each
blob, refuses an overwrite (If-None-Match: *), and records each Set Blob Immutability Policy."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from azure.storage.blob import ContainerClient
from azure_fixtures import ExampleTransport, FakeCredential, Route
from evidence_support import a_run_dir, clean_environment, drctl

from orchestrator.evidence.chain import regular_files, seal
from orchestrator.evidence.publish import publish
from orchestrator.run.remote.url import KEY_ENV

ACCOUNT_URL = "https://auditcopy.blob.core.windows.net"
CONTAINER = "evidence-worm"
URL = f"{ACCOUNT_URL}/{CONTAINER}"
STAMP = format_datetime(datetime(2026, 1, 1, tzinfo=UTC), usegmt=True)


class WormContainer:
    """The double: a container with version-level immutability, as the Blob service answers."""

    def __init__(self, worm: bool = True) -> None:
        self.worm = worm
        self.blobs: dict[str, tuple[bytes, str]] = {}  # name -> (bytes, version id)
        self.policies: dict[tuple[str, str], tuple[datetime, str]] = {}  # (name, version) -> (until, mode)

    def transport(self) -> ExampleTransport:
        return ExampleTransport([Route("GET", f"/{CONTAINER}", respond=self.properties),
                                 Route("PUT", f"/{CONTAINER}/.+", respond=self.put),
                                 Route("GET", f"/{CONTAINER}/.+", respond=self.download),
                                 Route("HEAD", f"/{CONTAINER}/.+", respond=self.head)])

    def client(self) -> ContainerClient:
        return ContainerClient(ACCOUNT_URL, CONTAINER, credential=FakeCredential(), transport=self.transport())

    @staticmethod
    def _name(request) -> str:
        return unquote(urlsplit(request.url).path).removeprefix(f"/{CONTAINER}/")

    def properties(self, request):
        headers = {"ETag": '"0x1"', "Last-Modified": STAMP}
        if self.worm:
            headers["x-ms-immutable-storage-with-versioning-enabled"] = "true"
        return 200, None, headers

    def put(self, request):
        name, query = self._name(request), parse_qs(urlsplit(request.url).query)
        if query.get("comp") == ["immutabilityPolicies"]:
            version = query["versionid"][0]
            assert self.blobs[name][1] == version, "the policy must go on the version drctl wrote"
            until = parsedate_to_datetime(request.headers["x-ms-immutability-policy-until-date"])
            self.policies[(name, version)] = (until, request.headers["x-ms-immutability-policy-mode"])
            return 200, None, {"x-ms-immutability-policy-until-date": request.headers["x-ms-immutability-policy-until-date"],
                               "x-ms-immutability-policy-mode": request.headers["x-ms-immutability-policy-mode"]}
        if name in self.blobs and request.headers.get("If-None-Match") == "*":
            return 409, None, {"x-ms-error-code": "BlobAlreadyExists"}
        version = f"2026-01-01T00:00:{len(self.blobs):02d}.0000000Z"
        self.blobs[name] = (bytes(request.body or b""), version)
        return 201, None, {"ETag": '"0x2"', "Last-Modified": STAMP, "x-ms-version-id": version,
                           "x-ms-request-server-encrypted": "true"}

    def download(self, request):
        data, version = self.blobs[self._name(request)]
        return 206, data, {"Content-Length": str(len(data)), "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}",
                           "Content-Type": "application/octet-stream", "x-ms-blob-type": "BlockBlob",
                           "ETag": '"0x2"', "Last-Modified": STAMP, "x-ms-version-id": version}

    def head(self, request):
        name = self._name(request)
        data, version = self.blobs[name]
        headers = {"Content-Length": str(len(data)), "x-ms-blob-type": "BlockBlob", "ETag": '"0x2"',
                   "Last-Modified": STAMP, "x-ms-version-id": version}
        if (name, version) in self.policies:
            until, mode = self.policies[(name, version)]
            headers |= {"x-ms-immutability-policy-until-date": format_datetime(until, usegmt=True),
                        "x-ms-immutability-policy-mode": mode}
        return 200, None, headers


def test_each_file_is_uploaded_and_its_version_locked_for_the_retention(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    worm = WormContainer()
    document = publish(run_dir, URL, retain_days=30, container=worm.client())
    assert document["published"] and document["problems"] == []
    files = regular_files(run_dir)[0]
    assert {"SHA256SUMS", "SHA256SUMS.sig", "report.md"} <= set(files)
    assert sorted(worm.blobs) == sorted(f"{document['prefix']}/{name}" for name in files)
    for name in files:
        data, version = worm.blobs[f"{document['prefix']}/{name}"]
        assert data == (run_dir / name).read_bytes()
        until, mode = worm.policies[(f"{document['prefix']}/{name}", version)]
        assert mode == "Locked" and abs(until - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)


def test_a_second_publish_keeps_what_is_there_and_an_unlocked_policy_is_asked_for(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    worm = WormContainer()
    first = publish(run_dir, URL, retain_days=1, locked=False, container=worm.client())
    assert {mode for _, mode in worm.policies.values()} == {"Unlocked"}
    again = publish(run_dir, URL, retain_days=1, container=worm.client())
    assert again["published"] and {blob["state"] for blob in again["blobs"]} == {"already there"}
    assert again["prefix"] == first["prefix"] and len(worm.policies) == len(first["blobs"])


def test_other_bytes_under_the_same_name_are_a_problem_not_an_overwrite(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    worm = WormContainer()
    prefix = publish(run_dir, URL, retain_days=1, container=worm.client())["prefix"]
    worm.blobs[f"{prefix}/report.md"] = (b"# another report\n", "2026-01-01T00:00:59.0000000Z")
    document = publish(run_dir, URL, retain_days=1, container=worm.client())
    assert not document["published"]
    assert document["problems"] == [{"file": "report.md", "problem": f"{prefix}/report.md is already in the "
                                                                     "container with other bytes: left as it is"}]
    assert worm.blobs[f"{prefix}/report.md"][0] == b"# another report\n"


def test_evidence_that_does_not_verify_is_not_published(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    (run_dir / "report.md").write_text("# forged\n")
    worm = WormContainer()
    transport = worm.transport()
    document = publish(run_dir, URL, retain_days=1,
                       container=ContainerClient(ACCOUNT_URL, CONTAINER, credential=FakeCredential(), transport=transport))
    assert not document["published"] and {"file": "report.md", "problem": "altered"} in document["problems"]
    assert transport.requests == [] and worm.blobs == {}


def test_a_container_without_version_level_immutability_is_refused_before_any_upload(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    worm = WormContainer(worm=False)
    from orchestrator.errors import BadInput

    with pytest.raises(BadInput, match="does not have version-level immutability enabled"):
        publish(run_dir, URL, retain_days=1, container=worm.client())
    assert worm.blobs == {}


def test_a_container_url_with_a_sas_is_refused_without_echoing_it(tmp_path):
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    done = drctl("publish-evidence", str(run_dir), "--container", f"{URL}?sv=2024&sig=SECRETSIG", "--retain-days", "1")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "SECRETSIG" not in done.stderr
    assert done.stderr.startswith("drctl: --container: no query string")


@pytest.mark.integration
def test_azurite_a_container_without_worm_is_refused_with_exit_2_and_nothing_uploaded(tmp_path):
    from orchestrator.targets.local.servers.azurite import AzuriteServer, azurite_binary, generate_account_key

    try:
        azurite_binary()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    run_dir = a_run_dir(tmp_path)
    seal(run_dir)
    folder, key = Path(tempfile.mkdtemp(prefix="drctl-worm-")), generate_account_key()
    server = AzuriteServer(folder, {"auditcopy": key}).start()
    try:
        container = server.service_client("auditcopy").get_container_client("evidence")
        container.create_container()
        url = f"http://127.0.0.1:{server.port}/auditcopy/evidence"
        done = drctl("publish-evidence", str(run_dir), "--container", url, "--retain-days", "1",
                     env=clean_environment(**{KEY_ENV: key}))
        assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
        assert "does not have version-level immutability enabled" in done.stderr
        assert list(container.list_blobs()) == []
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
