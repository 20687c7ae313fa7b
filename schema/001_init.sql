-- Bright Dawn: the initial schema.
-- Two Postgres schemas keep the seed's data boundary: `auth` is read and
-- written by internal/auth alone; `game` holds everything else. The game
-- knows players only by id (no foreign keys across the boundary).

CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS game;

CREATE TABLE auth.players (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 64),
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'player' CHECK (role IN ('player', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX players_email_key ON auth.players (lower(email));

-- Refresh tokens rotate within a family; presenting a spent token revokes the family.
CREATE TABLE auth.refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    player_id   uuid NOT NULL REFERENCES auth.players (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON auth.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_player_idx ON auth.refresh_tokens (player_id);

CREATE TABLE game.characters (
    id                uuid PRIMARY KEY,
    player_id         uuid NOT NULL,
    name              text NOT NULL,
    class             text NOT NULL,
    level             integer NOT NULL DEFAULT 1 CHECK (level BETWEEN 1 AND 20),
    sheet             jsonb NOT NULL DEFAULT '{}'::jsonb,
    portrait_asset_id uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX characters_player_idx ON game.characters (player_id, created_at);

CREATE TABLE game.sessions (
    id           uuid PRIMARY KEY,
    owner_id     uuid NOT NULL,
    title        text NOT NULL,
    character_id uuid REFERENCES game.characters (id) ON DELETE SET NULL,
    state        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_owner_idx ON game.sessions (owner_id, created_at);

CREATE TABLE game.session_members (
    session_id uuid NOT NULL REFERENCES game.sessions (id) ON DELETE CASCADE,
    player_id  uuid NOT NULL,
    role       text NOT NULL DEFAULT 'player' CHECK (role IN ('owner', 'player')),
    joined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, player_id)
);
CREATE INDEX session_members_player_idx ON game.session_members (player_id);

CREATE TABLE game.messages (
    id              uuid PRIMARY KEY,
    -- seq orders messages totally (created_at can tie within a transaction).
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    session_id      uuid NOT NULL REFERENCES game.sessions (id) ON DELETE CASCADE,
    turn_id         uuid,
    role            text NOT NULL CHECK (role IN ('player', 'dm', 'system')),
    author_id       uuid,
    content         text NOT NULL,
    partial         boolean NOT NULL DEFAULT false,
    token_count     integer NOT NULL DEFAULT 0,
    embedding       vector(384),
    embedding_model text,
    tsv             tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX messages_seq_key ON game.messages (seq);
CREATE INDEX messages_session_created_idx ON game.messages (session_id, created_at);
CREATE INDEX messages_session_seq_idx ON game.messages (session_id, seq);
CREATE INDEX messages_embedding_idx ON game.messages USING hnsw (embedding vector_cosine_ops);
CREATE INDEX messages_tsv_idx ON game.messages USING gin (tsv);
-- At most one DM reply per turn: a generate task that runs twice cannot write twice.
CREATE UNIQUE INDEX messages_turn_role_key ON game.messages (turn_id, role) WHERE turn_id IS NOT NULL;

CREATE TABLE game.turns (
    id                  uuid PRIMARY KEY,
    session_id          uuid NOT NULL REFERENCES game.sessions (id) ON DELETE CASCADE,
    player_id           uuid NOT NULL,
    player_message_id   uuid NOT NULL REFERENCES game.messages (id) ON DELETE CASCADE,
    dm_message_id       uuid REFERENCES game.messages (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    idempotency_key     text,
    status              text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'embedding', 'retrieving', 'generating', 'completed', 'failed', 'cancelled')),
    seed                bigint NOT NULL DEFAULT 0,
    provider            text,
    model               text,
    error_code          text,
    error_message       text,
    context             jsonb,
    prompt_tokens       integer,
    completion_tokens   integer,
    attempts            integer NOT NULL DEFAULT 0,
    cancel_requested_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    embed_started_at    timestamptz,
    embed_ended_at      timestamptz,
    retrieve_started_at timestamptz,
    retrieve_ended_at   timestamptz,
    generate_started_at timestamptz,
    generate_ended_at   timestamptz,
    finished_at         timestamptz
);
CREATE INDEX turns_session_idx ON game.turns (session_id, created_at);
CREATE UNIQUE INDEX turns_idempotency_key ON game.turns (session_id, player_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- The sweeper looks only at unfinished turns.
CREATE INDEX turns_open_idx ON game.turns (updated_at)
    WHERE status IN ('queued', 'embedding', 'retrieving', 'generating');

CREATE TABLE game.assets (
    id           uuid PRIMARY KEY,
    owner_id     uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('portrait', 'map', 'sheet', 'export')),
    bucket       text NOT NULL,
    object_key   text NOT NULL UNIQUE,
    content_type text NOT NULL,
    size         bigint NOT NULL CHECK (size > 0),
    checksum     text,
    filename     text,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'deleted')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);
CREATE INDEX assets_owner_idx ON game.assets (owner_id, created_at);
CREATE INDEX assets_pending_idx ON game.assets (created_at) WHERE status = 'pending';
