-- Rounds mode of party play (issue #15): the party's actions gather in a
-- round and ONE DM turn answers them all (docs/PARTY.md).

ALTER TABLE game.sessions
    ADD COLUMN mode text NOT NULL DEFAULT 'free' CHECK (mode IN ('free', 'rounds')),
    ADD COLUMN round_timeout integer NOT NULL DEFAULT 120 CHECK (round_timeout BETWEEN 10 AND 3600);

CREATE TABLE game.rounds (
    id         uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES game.sessions (id) ON DELETE CASCADE,
    status     text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_at  timestamptz NOT NULL DEFAULT now(),
    closes_at  timestamptz NOT NULL,
    closed_at  timestamptz,
    -- the turn that answered the round (NULL while open, or when every
    -- action was deleted before it closed)
    turn_id    uuid REFERENCES game.turns (id) ON DELETE SET NULL
);
-- At most one open round per session.
CREATE UNIQUE INDEX rounds_open_key ON game.rounds (session_id) WHERE status = 'open';
-- The sweeper's look for rounds past their time.
CREATE INDEX rounds_due_idx ON game.rounds (closes_at) WHERE status = 'open';
CREATE INDEX rounds_turn_idx ON game.rounds (turn_id) WHERE turn_id IS NOT NULL;

-- A player message posted in rounds mode is an action of its round; one
-- action per member per round.
ALTER TABLE game.messages
    ADD COLUMN round_id uuid REFERENCES game.rounds (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX messages_round_author_key ON game.messages (round_id, author_id) WHERE round_id IS NOT NULL;
