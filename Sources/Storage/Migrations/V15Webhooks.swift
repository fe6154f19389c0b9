extension Migration {
    /// Webhooks: each organisation's endpoints, the outbox of events and a delivery per endpoint and event.
    ///
    /// Events are written by triggers on the tables whose change they describe (check-ins, refused attempts, members,
    /// faces), so that an event exists exactly when its change commits — in the same transaction, whichever code path
    /// made the change — and a delivery is queued for every enabled endpoint of the organisation that subscribed to its
    /// type. `ordering_key` (the member) keeps one member's events in order per endpoint; `seq` is the events' commit
    /// order within a key. An erasure removes the member's personal data from the events still kept.
    ///
    /// And the validation call each organisation may set: the URL asked before a recognised member is checked in, and
    /// the secret its requests are signed with.
    static let v15Webhooks = Migration(
        version: 15,
        name: "webhooks",
        statements: [
            """
            ALTER TABLE organizations
                ADD COLUMN checkin_validation_url text CHECK (length(checkin_validation_url) BETWEEN 8 AND 2000),
                ADD COLUMN checkin_validation_secret text,
                ADD CONSTRAINT organizations_validation_secret
                    CHECK ((checkin_validation_url IS NULL) = (checkin_validation_secret IS NULL))
            """,
            """
            CREATE TABLE webhook_endpoints (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
                url text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
                description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
                events text[] NOT NULL CHECK (cardinality(events) >= 1),
                secret text NOT NULL CHECK (length(secret) >= 32),
                previous_secret text,
                previous_secret_until timestamptz,
                enabled boolean NOT NULL DEFAULT true,
                disabled_reason text CHECK (length(disabled_reason) <= 500),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX webhook_endpoints_organization ON webhook_endpoints (organization_id)",
            """
            CREATE TABLE webhook_events (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                seq bigserial NOT NULL,
                organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
                type text NOT NULL CHECK (length(type) BETWEEN 1 AND 60),
                ordering_key text,
                data jsonb NOT NULL,
                created_at timestamptz NOT NULL DEFAULT clock_timestamp()
            )
            """,
            "CREATE INDEX webhook_events_time ON webhook_events (created_at)",
            "CREATE INDEX webhook_events_member ON webhook_events ((data ->> 'member_id'))",
            "CREATE INDEX webhook_events_candidate ON webhook_events ((data -> 'member' ->> 'member_id'))",
            """
            CREATE TABLE webhook_deliveries (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
                event_id uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
                seq bigint NOT NULL,
                ordering_key text,
                state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                -- Retries go on until WEBHOOK_RETRY_HOURS after this: the first try (a redelivery, or enabling the
                -- endpoint again, starts it again).
                retrying_since timestamptz NOT NULL DEFAULT clock_timestamp(),
                -- Until when the dispatcher that claimed it is sending it.
                lease_until timestamptz,
                last_status_code integer,
                last_error text CHECK (length(last_error) <= 500),
                delivered_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                UNIQUE (endpoint_id, event_id)
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending'",
            """
            CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, ordering_key, seq)
                WHERE state = 'pending'
            """,
            "CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC)",
            "CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)",
            """
            CREATE TABLE webhook_delivery_attempts (
                id bigserial PRIMARY KEY,
                delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
                attempted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                status_code integer,
                duration_ms integer NOT NULL,
                error text CHECK (length(error) <= 500)
            )
            """,
            "CREATE INDEX webhook_delivery_attempts_delivery ON webhook_delivery_attempts (delivery_id, attempted_at DESC)",
            """
            CREATE FUNCTION webhook_wanted(organization uuid, event_type text) RETURNS boolean LANGUAGE sql STABLE AS $$
                SELECT EXISTS (SELECT 1 FROM webhook_endpoints
                               WHERE organization_id = organization AND enabled AND event_type = ANY(events))
            $$
            """,
            """
            CREATE FUNCTION webhook_emit(organization uuid, event_type text, ordering text, payload jsonb)
            RETURNS void LANGUAGE plpgsql AS $$
            DECLARE
                event webhook_events;
            BEGIN
                -- One member's events are numbered in the order their transactions commit: the next one waits here
                -- until this one has committed.
                IF ordering IS NOT NULL THEN
                    PERFORM pg_advisory_xact_lock(hashtextextended('webhook ' || ordering, 0));
                END IF;
                INSERT INTO webhook_events (organization_id, type, ordering_key, data)
                VALUES (organization, event_type, ordering, payload) RETURNING * INTO event;
                INSERT INTO webhook_deliveries (endpoint_id, event_id, seq, ordering_key)
                SELECT id, event.id, event.seq, ordering FROM webhook_endpoints
                WHERE organization_id = organization AND enabled AND event_type = ANY(events);
            END $$
            """,
            """
            CREATE FUNCTION webhook_member(member uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
                SELECT jsonb_build_object('member_id', m.id, 'external_id', m.external_id, 'name', m.name)
                FROM members m WHERE m.id = member
            $$
            """,
            """
            CREATE FUNCTION webhook_checkin_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT webhook_wanted(NEW.organization_id, 'checkin.recorded') THEN
                    RETURN NULL;  -- the organisation has no endpoint for it: nothing to write
                END IF;
                PERFORM webhook_emit(NEW.organization_id, 'checkin.recorded', NEW.member_id::text,
                    coalesce(webhook_member(NEW.member_id), jsonb_build_object('member_id', NEW.member_id))
                    || jsonb_build_object('checkin_id', NEW.id, 'checked_in_at', NEW.checked_in_at,
                                          'method', NEW.method, 'distance', NEW.distance));
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER checkins_webhook AFTER INSERT ON checkins
                FOR EACH ROW EXECUTE FUNCTION webhook_checkin_recorded()
            """,
            """
            CREATE FUNCTION webhook_checkin_refused() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                -- Refusals of a person only (not a bad photo, an overloaded service or a rate limit).
                IF NEW.outcome NOT IN ('no_match', 'membership_inactive', 'wrong_pin', 'pin_ambiguous',
                                       'liveness_failed', 'checkin_refused_by_validator')
                   OR NOT webhook_wanted(NEW.organization_id, 'checkin.refused') THEN
                    RETURN NULL;
                END IF;
                PERFORM webhook_emit(NEW.organization_id, 'checkin.refused', NEW.member_id::text,
                    jsonb_build_object('attempt_id', NEW.id, 'occurred_at', NEW.occurred_at, 'outcome', NEW.outcome,
                                       'reason', NEW.reason, 'method', NEW.method, 'distance', NEW.distance,
                                       'member', webhook_member(NEW.member_id)));
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER checkin_attempts_webhook AFTER INSERT ON checkin_attempts
                FOR EACH ROW EXECUTE FUNCTION webhook_checkin_refused()
            """,
            """
            CREATE FUNCTION webhook_member_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    -- Erased: what the kept events say of the member goes too, but for their ids.
                    UPDATE webhook_events SET data = (data - 'name' - 'email' - 'metadata')
                                                     || jsonb_build_object('member_erased', true)
                    WHERE data ->> 'member_id' = OLD.id::text;
                    UPDATE webhook_events SET data = jsonb_set(data - 'reason', '{member}',
                                                     jsonb_build_object('member_id', OLD.id, 'external_id', OLD.external_id))
                    WHERE type = 'checkin.refused' AND data -> 'member' ->> 'member_id' = OLD.id::text;
                    IF webhook_wanted(OLD.organization_id, 'member.erased') THEN
                        PERFORM webhook_emit(OLD.organization_id, 'member.erased', OLD.id::text,
                            jsonb_build_object('member_id', OLD.id, 'external_id', OLD.external_id));
                    END IF;
                    RETURN NULL;
                END IF;
                IF TG_OP = 'UPDATE' AND (NEW.name, NEW.external_id, NEW.email, NEW.metadata, NEW.status, NEW.valid_until,
                                         NEW.pin_hash IS NULL)
                    IS NOT DISTINCT FROM (OLD.name, OLD.external_id, OLD.email, OLD.metadata, OLD.status, OLD.valid_until,
                                          OLD.pin_hash IS NULL) THEN
                    RETURN NULL;  -- only counters changed (PIN and member number tries)
                END IF;
                IF NOT webhook_wanted(NEW.organization_id,
                                      CASE TG_OP WHEN 'INSERT' THEN 'member.created' ELSE 'member.updated' END) THEN
                    RETURN NULL;
                END IF;
                PERFORM webhook_emit(NEW.organization_id,
                    CASE TG_OP WHEN 'INSERT' THEN 'member.created' ELSE 'member.updated' END, NEW.id::text,
                    jsonb_build_object('member_id', NEW.id, 'external_id', NEW.external_id, 'name', NEW.name,
                                       'email', NEW.email, 'metadata', NEW.metadata, 'status', NEW.status,
                                       'valid_until', NEW.valid_until, 'has_pin', NEW.pin_hash IS NOT NULL));
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER members_webhook AFTER INSERT OR UPDATE OR DELETE ON members
                FOR EACH ROW EXECUTE FUNCTION webhook_member_changed()
            """,
            """
            CREATE FUNCTION webhook_face_enrolled() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                -- Another model's face of a photo the member has (facegate faces reembed) is no new enrolment.
                IF NOT webhook_wanted(NEW.organization_id, 'face.enrolled') OR EXISTS (SELECT 1 FROM faces f WHERE f.member_id = NEW.member_id AND f.photo_digest = NEW.photo_digest
                           AND f.id <> NEW.id) THEN
                    RETURN NULL;
                END IF;
                PERFORM webhook_emit(NEW.organization_id, 'face.enrolled', NEW.member_id::text,
                    jsonb_build_object('member_id', NEW.member_id, 'face_id', NEW.id, 'model', NEW.model));
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER faces_webhook_insert AFTER INSERT ON faces
                FOR EACH ROW EXECUTE FUNCTION webhook_face_enrolled()
            """,
            """
            CREATE FUNCTION webhook_faces_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                photo record;
            BEGIN
                -- One event per photo (its faces of every model go together), none for a member being erased.
                FOR photo IN
                    SELECT o.organization_id, o.member_id, array_agg(o.id ORDER BY o.created_at, o.id) AS ids
                    FROM deleted_faces o
                    WHERE o.member_id::text IS DISTINCT FROM current_setting('facegate.erasing', true)
                      AND webhook_wanted(o.organization_id, 'face.deleted')
                    GROUP BY o.organization_id, o.member_id, o.photo_digest
                LOOP
                    PERFORM webhook_emit(photo.organization_id, 'face.deleted', photo.member_id::text,
                        jsonb_build_object('member_id', photo.member_id, 'face_id', photo.ids[1],
                                           'face_ids', to_jsonb(photo.ids)));
                END LOOP;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER faces_webhook_delete AFTER DELETE ON faces
                REFERENCING OLD TABLE AS deleted_faces FOR EACH STATEMENT EXECUTE FUNCTION webhook_faces_deleted()
            """,
        ])
}
