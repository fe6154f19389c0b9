"""`facegate keys rotate` on a running deployment: every thumbnail, crop and face template moves to the new key while
instances on both search backends keep matching, at the same distances; a dumped template is not the face's
embedding under any key but the service's."""

import base64
import hashlib
import json
import os
import subprocess
import time

import pytest

from conftest import requires_faces
from facegate_service import NotReady, photo, psql

JPEG = {"Content-Type": "image/jpeg"}


def key_id(key):
    """A key's public name, as the service writes it beside what it sealed."""
    return hashlib.sha256(b"facegate key id|" + base64.b64decode(key)).hexdigest()[:16]


def stored_key_id(key):
    """What a template or photo digest stored under `key` (per organisation) names it by."""
    return "org:" + key_id(key)


def cosine_distance(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return 1 - dot / (sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5)


def best_match(service, token, relative):
    response = service.api("POST", "/identify", photo(relative), token, headers=JPEG)
    assert response.status == 200, (response.status, response.body)
    best = response.json()["matches"][0]
    return best["member"]["id"], best["distance"]


@requires_faces
def test_keys_rotate_moves_every_template_to_the_new_key_while_instances_keep_matching(services):
    url = services.database()
    first = services.start(database_url=url)
    org, tokens = first.organization("Rotation Gym", roles=("admin",))
    admin = tokens["admin"]
    obama = first.member(admin, "Barack Obama")
    biden = first.member(admin, "Joe Biden")
    assert first.enrol(admin, obama, photo("face_recognition/obama/obama.jpg")).status == 201
    assert first.enrol(admin, biden, photo("face_recognition/biden/biden.jpg")).status == 201
    # The same photo of the same man at another gym.
    _, other_tokens = first.organization("Other Rotation Gym", roles=("admin",))
    elsewhere = first.member(other_tokens["admin"], "Barack Obama")
    assert first.enrol(other_tokens["admin"], elsewhere, photo("face_recognition/obama/obama.jpg")).status == 201
    before = best_match(first, admin, "face_recognition/obama/obama2.jpg")
    assert before[0] == obama
    key_a = first.biometric_key
    first.stop()
    assert psql(url, "SELECT DISTINCT template_key_id FROM faces") == [[stored_key_id(key_a)]]
    # A dump links nothing across tenants and names no photo: the two templates of one photo are unrelated, the
    # photo digests differ and neither is the photo's SHA-256.
    rows = {member: (json.loads(template), digest) for member, template, digest in psql(
        url, "SELECT member_id, embedding::text, encode(photo_digest, 'hex') FROM faces")}
    assert cosine_distance(rows[obama][0], rows[elsewhere][0]) > 0.5
    sha = hashlib.sha256(photo("face_recognition/obama/obama.jpg")).hexdigest()
    assert rows[obama][1] != rows[elsewhere][1] and sha not in (rows[obama][1], rows[elsewhere][1])
    psql(url, f"DELETE FROM faces WHERE member_id = '{elsewhere}'")
    templates_a = dict(psql(url, "SELECT id, embedding::text FROM faces"))

    # The new key on every instance (the old one still known), then the rotation while they run.
    key_b = base64.b64encode(os.urandom(32)).decode()
    env = {"BIOMETRIC_ENCRYPTION_KEY": key_b, "BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS": key_a}
    instances = [services.start(env=env, database_url=url),
                 services.start(env={**env, "SEARCH_BACKEND": "pgvector"}, database_url=url)]
    for instance in instances:
        assert best_match(instance, admin, "face_recognition/obama/obama2.jpg")[0] == obama
    rotation = subprocess.run([os.environ["FACEGATE_BIN"], "keys", "rotate", "--batch", "1"],
                              env=instances[0].environment(), text=True, capture_output=True, timeout=120)
    assert rotation.returncode == 0, rotation.stderr
    summary = json.loads(rotation.stdout.splitlines()[-1])
    # Two thumbnails, two crops, two templates.
    assert (summary["resealed"], summary["rekeyed_templates"], summary["unreadable"]) == (4, 2, 0), summary
    assert "of 6 thumbnails, crops, templates and photo digests" in rotation.stderr

    assert psql(url, "SELECT DISTINCT template_key_id FROM faces") == [[stored_key_id(key_b)]]
    templates_b = dict(psql(url, "SELECT id, embedding::text FROM faces"))
    assert templates_a.keys() == templates_b.keys()
    assert all(templates_a[face] != templates_b[face] for face in templates_a)
    for instance in instances:
        member, distance = best_match(instance, admin, "face_recognition/obama/obama2.jpg")
        assert member == obama and abs(distance - before[1]) < 1e-5, (distance, before)

    again = subprocess.run([os.environ["FACEGATE_BIN"], "keys", "rotate"], env=instances[0].environment(),
                           text=True, capture_output=True, timeout=120)
    assert again.returncode == 0 and json.loads(again.stdout.splitlines()[-1])["rekeyed_templates"] == 0


def bench_seed(service, organization, faces, env):
    return subprocess.run([os.environ["FACEGATE_BIN"], "bench", "seed", "--organization", organization, "--faces",
                           str(faces)], env=env, text=True, capture_output=True, timeout=120)


def test_a_gallery_seeded_under_another_key_fails_the_wait_for_readiness_at_once_with_the_reason(services):
    """The throughput benchmark's seeding path (`facegate bench seed` beside a running service): with the server's
    environment the synthetic faces load; without a key the command refuses; under a key the server lacks, waiting
    for readiness fails straight away naming the key, instead of waiting out its bound."""
    service = services.start()
    org, _ = service.organization("bench-seed", roles=("admin",))
    seeded = bench_seed(service, org, 40, service.environment())
    assert seeded.returncode == 0, seeded.stderr
    assert json.loads(seeded.stdout.splitlines()[-1])["added"] == 40
    report = service.wait_ready(60, until=lambda r: r["checks"]["gallery"]["faces"] == 40
                                and r["checks"]["gallery"]["in_sync"])
    assert report["checks"]["gallery"]["ok"]

    keyless = {k: v for k, v in service.environment().items() if k != "BIOMETRIC_ENCRYPTION_KEY"}
    refused = bench_seed(service, org, 60, keyless)
    assert refused.returncode != 0 and "BIOMETRIC_ENCRYPTION_KEY" in refused.stderr, refused.stderr

    other_key = base64.b64encode(os.urandom(32)).decode()
    seeded = bench_seed(service, org, 60, {**service.environment(), "BIOMETRIC_ENCRYPTION_KEY": other_key})
    assert seeded.returncode == 0, seeded.stderr
    started = time.monotonic()
    with pytest.raises(NotReady) as failure:
        service.wait_ready(600, until=lambda r: r["checks"]["gallery"]["faces"] == 60)
    assert key_id(other_key) in str(failure.value), failure.value
    assert time.monotonic() - started < 120
