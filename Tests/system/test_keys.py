"""`facegate keys rotate` on a running deployment: every thumbnail, crop and face template moves to the new key while
instances on both search backends keep matching, at the same distances; a dumped template is not the face's
embedding under any key but the service's."""

import base64
import hashlib
import json
import os
import subprocess

from conftest import requires_faces
from facegate_service import photo, psql

JPEG = {"Content-Type": "image/jpeg"}


def key_id(key):
    """A key's public name, as the service writes it beside what it sealed or transformed."""
    return hashlib.sha256(b"facegate key id|" + base64.b64decode(key)).hexdigest()[:16]


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
    before = best_match(first, admin, "face_recognition/obama/obama2.jpg")
    assert before[0] == obama
    key_a = first.biometric_key
    first.stop()
    assert psql(url, "SELECT DISTINCT template_key_id FROM faces") == [[key_id(key_a)]]
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
    assert "of 6 thumbnails, crops and templates" in rotation.stderr

    assert psql(url, "SELECT DISTINCT template_key_id FROM faces") == [[key_id(key_b)]]
    templates_b = dict(psql(url, "SELECT id, embedding::text FROM faces"))
    assert templates_a.keys() == templates_b.keys()
    assert all(templates_a[face] != templates_b[face] for face in templates_a)
    for instance in instances:
        member, distance = best_match(instance, admin, "face_recognition/obama/obama2.jpg")
        assert member == obama and abs(distance - before[1]) < 1e-5, (distance, before)

    again = subprocess.run([os.environ["FACEGATE_BIN"], "keys", "rotate"], env=instances[0].environment(),
                           text=True, capture_output=True, timeout=120)
    assert again.returncode == 0 and json.loads(again.stdout.splitlines()[-1])["rekeyed_templates"] == 0
