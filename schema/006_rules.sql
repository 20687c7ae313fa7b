-- The rules engine (issue 14): verifiable dice per turn, the rolls and
-- sheet changes each turn made, a character's change history, and the
-- open seed of a session's player rolls.

-- A turn's dice seed is chosen when the turn is accepted; its commitment
-- (hex sha256 of the seed) is public from then on, the seed only once the
-- turn is final (the API hides it before). Turns accepted before this
-- migration have neither.
ALTER TABLE game.turns
    ADD COLUMN dice_seed       bytea CHECK (dice_seed IS NULL OR length(dice_seed) = 32),
    ADD COLUMN dice_commitment text;

-- sheet_version counts the writes of a sheet: a turn's completion applies
-- its changes only to the version its engine read (compare and swap), so
-- two turns touching one character never lose an update.
ALTER TABLE game.characters ADD COLUMN sheet_version bigint NOT NULL DEFAULT 0;

-- The seeds of player rolls made outside a turn. One per session is open
-- (revealed_at IS NULL; its commitment is on the session); accepting a
-- turn of the session reveals it and opens the next. next_die is the k of
-- its next die and next_roll the index of its next roll.
CREATE TABLE game.dice_seeds (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES game.sessions (id) ON DELETE CASCADE,
    seed        bytea NOT NULL CHECK (length(seed) = 32),
    commitment  text NOT NULL,
    next_die    integer NOT NULL DEFAULT 0,
    next_roll   integer NOT NULL DEFAULT 0,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    revealed_at timestamptz
);
CREATE UNIQUE INDEX dice_seeds_open_key ON game.dice_seeds (session_id) WHERE revealed_at IS NULL;
CREATE INDEX dice_seeds_session_idx ON game.dice_seeds (session_id, opened_at);

-- Every roll: a turn's (turn_id set, drawn from the turn's seed) or a
-- player's own (seed_id set, drawn from the session's open seed). idx is
-- the roll's index among the rolls of its seed.
CREATE TABLE game.rolls (
    id           uuid PRIMARY KEY,
    session_id   uuid NOT NULL REFERENCES game.sessions (id) ON DELETE CASCADE,
    turn_id      uuid REFERENCES game.turns (id) ON DELETE CASCADE,
    seed_id      uuid REFERENCES game.dice_seeds (id) ON DELETE CASCADE,
    actor        text NOT NULL CHECK (actor IN ('dm', 'player')),
    player_id    uuid,
    character_id uuid,
    idx          integer NOT NULL,
    roll         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((turn_id IS NULL) <> (seed_id IS NULL))
);
CREATE UNIQUE INDEX rolls_turn_idx ON game.rolls (turn_id, idx) WHERE turn_id IS NOT NULL;
CREATE UNIQUE INDEX rolls_seed_idx ON game.rolls (seed_id, idx) WHERE seed_id IS NOT NULL;
CREATE INDEX rolls_session_idx ON game.rolls (session_id, created_at);

-- A character's history: every change the engine made to its sheet, in
-- order (seq). Undo or fork restores the sheet as of a turn by reverting,
-- newest first, the changes with a larger seq (rules.Revert).
CREATE TABLE game.character_changes (
    id           uuid PRIMARY KEY,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    character_id uuid NOT NULL REFERENCES game.characters (id) ON DELETE CASCADE,
    turn_id      uuid REFERENCES game.turns (id) ON DELETE SET NULL,
    session_id   uuid REFERENCES game.sessions (id) ON DELETE SET NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    path         text NOT NULL,
    from_value   integer NOT NULL,
    to_value     integer NOT NULL,
    reason       text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX character_changes_seq_key ON game.character_changes (seq);
CREATE INDEX character_changes_character_idx ON game.character_changes (character_id, seq);
CREATE INDEX character_changes_turn_idx ON game.character_changes (turn_id) WHERE turn_id IS NOT NULL;
