-- Campaign knowledge (issue #17): lorebooks, character cards' lorebooks,
-- rolling summaries and exports.

-- Lore entries belong to a session; the owner edits them, the retrieve
-- stage reads the enabled ones of the turn's session.
CREATE TABLE game.lore_entries (
    id         uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES game.sessions (id) ON DELETE CASCADE,
    title      text NOT NULL,
    keys       jsonb NOT NULL DEFAULT '[]'::jsonb,
    content    text NOT NULL,
    always     boolean NOT NULL DEFAULT false,
    enabled    boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lore_entries_session_idx ON game.lore_entries (session_id, created_at, id);

-- A character imported from a card keeps the card's text fields and its
-- lorebook (an array of lore entries), copied into the lore of every
-- session the character starts.
ALTER TABLE game.characters ADD COLUMN card jsonb;

-- The rolling summary of a session's history older than the prompt holds.
CREATE TABLE game.session_summaries (
    session_id         uuid PRIMARY KEY REFERENCES game.sessions (id) ON DELETE CASCADE,
    content            text NOT NULL,
    through_message_id uuid,
    edited             boolean NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Exports written by a task into the exports bucket.
CREATE TABLE game.exports (
    id         uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES game.sessions (id) ON DELETE CASCADE,
    player_id  uuid NOT NULL,
    format     text NOT NULL CHECK (format IN ('json', 'markdown')),
    status     text NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
    object_key text,
    error      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exports_player_idx ON game.exports (player_id, created_at);

-- Character cards are uploaded as assets of the new kind `card`.
ALTER TABLE game.assets DROP CONSTRAINT assets_kind_check;
ALTER TABLE game.assets ADD CONSTRAINT assets_kind_check CHECK (kind IN ('portrait', 'map', 'sheet', 'export', 'card'));
