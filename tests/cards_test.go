package tests

import (
	"bytes"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// uploadReady uploads body as a ready asset of kind and returns its id.
func uploadReady(t *testing.T, p player, kind, contentType, filename string, body []byte) string {
	t.Helper()
	created := createAsset(t, p.Client, map[string]any{"kind": kind, "content_type": contentType, "size": len(body), "filename": filename})
	status, msg := uploadWithForm(t, created.Upload, body, nil)
	require.Equal(t, http.StatusNoContent, status, msg)
	completeAsset(t, p.Client, created.Asset.ID)
	return created.Asset.ID
}

type importedCharacter struct {
	Character struct {
		ID    string
		Name  string
		Class string
		Sheet struct{ Notes string }
	}
	Warnings []string
}

type loreList struct {
	Lore []struct {
		Title   string
		Keys    []string
		Always  bool
		Enabled bool
	}
}

func sessionLore(t *testing.T, p player, sessionID string) loreList {
	t.Helper()
	resp := p.Client.Do(t, "GET", "/api/sessions/"+sessionID+"/lore", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out loreList
	resp.JSON(t, &out)
	return out
}

func TestCharacterCardsImportWithTheirLorebooks(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{})
	p := signUp(t, srv.URL)
	stranger := signUp(t, srv.URL)

	for _, tc := range []struct{ file, contentType, name string }{
		{"v2.json", "application/json", "Ysolde"},
		{"v2.png", "image/png", "Ysolde"},
		{"v3.png", "image/png", "Ysolde of Ashford"},
	} {
		t.Run("a "+tc.file+" card becomes a character whose sessions get its lorebook", func(t *testing.T) {
			body, err := os.ReadFile("../internal/cards/testdata/" + tc.file)
			require.NoError(t, err)
			asset := uploadReady(t, p, "card", tc.contentType, tc.file, body)

			// Another player cannot import it.
			resp := stranger.Client.Do(t, "POST", "/api/characters/import", map[string]any{"asset_id": asset})
			requireInvalidField(t, resp, "asset_id")

			resp = p.Client.Do(t, "POST", "/api/characters/import", map[string]any{"asset_id": asset})
			require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
			var got importedCharacter
			resp.JSON(t, &got)
			require.Equal(t, tc.name, got.Character.Name)
			require.NotEmpty(t, got.Character.Sheet.Notes, "the description becomes the notes")
			require.NotEmpty(t, got.Warnings, "the dropped one-letter key is reported")

			s := newSession(t, p, got.Character.ID)
			book := sessionLore(t, p, s.ID)
			require.Len(t, book.Lore, 3)
			require.Equal(t, "Bram", book.Lore[0].Title)
			require.Equal(t, []string{"Bram", "the smith"}, book.Lore[0].Keys)
			require.True(t, book.Lore[1].Always, "a constant entry is always included")
			require.Equal(t, []string{"Iron Gate"}, book.Lore[2].Keys)
			require.False(t, book.Lore[2].Enabled)

			// A session without the character has no lore.
			require.Empty(t, sessionLore(t, p, newSession(t, p, "").ID).Lore)
		})
	}

	t.Run("broken cards are refused and nothing is created", func(t *testing.T) {
		before := p.Client.Do(t, "GET", "/api/characters", nil)
		for name, tc := range map[string]struct {
			contentType string
			body        []byte
			status      int
		}{
			"a PNG without a card chunk": {"image/png", portraitPNG(t), http.StatusUnprocessableEntity},
			"JSON that is no card":       {"application/json", []byte(`{"spec":"chara_card_v9","data":{}}`), http.StatusUnprocessableEntity},
			"a card without a name":      {"application/json", []byte(`{"spec":"chara_card_v2","spec_version":"2.0","data":{"name":"","description":"d"}}`), http.StatusUnprocessableEntity},
			"broken JSON":                {"application/json", []byte(`{"spec": "chara_card_v2", "data": {`), http.StatusBadRequest},
		} {
			asset := uploadReady(t, p, "card", tc.contentType, "card", tc.body)
			resp := p.Client.Do(t, "POST", "/api/characters/import", map[string]any{"asset_id": asset})
			require.Equal(t, tc.status, resp.Status, "%s: %s", name, resp.Body)
			require.NotContains(t, string(resp.Body), "character\":", name)
		}
		after := p.Client.Do(t, "GET", "/api/characters", nil)
		require.Equal(t, string(before.Body), string(after.Body), "no character was created")

		resp := p.Client.Do(t, "POST", "/api/characters/import", map[string]any{"asset_id": "nope"})
		requireInvalidField(t, resp, "asset_id")
		portrait := uploadReady(t, p, "portrait", "image/png", "p.png", portraitPNG(t))
		resp = p.Client.Do(t, "POST", "/api/characters/import", map[string]any{"asset_id": portrait})
		requireInvalidField(t, resp, "asset_id")
	})

	t.Run("a character exports as a V3 PNG card that imports back with its lorebook", func(t *testing.T) {
		body, err := os.ReadFile("../internal/cards/testdata/v3.png")
		require.NoError(t, err)
		resp := p.Client.Do(t, "POST", "/api/characters/import", map[string]any{"asset_id": uploadReady(t, p, "card", "image/png", "v3.png", body)})
		require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
		var first importedCharacter
		resp.JSON(t, &first)

		// With a portrait, the card's image is the portrait.
		img := portraitPNG(t)
		portrait := uploadReady(t, p, "portrait", "image/png", "p.png", img)
		resp = p.Client.Do(t, "PATCH", "/api/characters/"+first.Character.ID, map[string]any{"portrait_asset_id": portrait})
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))

		require.Equal(t, http.StatusNotFound, stranger.Client.Do(t, "GET", "/api/characters/"+first.Character.ID+"/card", nil).Status)
		card := p.Client.Do(t, "GET", "/api/characters/"+first.Character.ID+"/card", nil)
		require.Equal(t, http.StatusOK, card.Status, string(card.Body))
		require.Equal(t, "image/png", card.Header.Get("Content-Type"))
		require.Contains(t, card.Header.Get("Content-Disposition"), "attachment")
		require.True(t, bytes.Contains(card.Body, []byte("ccv3")), "a V3 chunk")
		require.True(t, bytes.Contains(card.Body, img[33:60]), "the portrait's pixels are the card's image")

		resp = p.Client.Do(t, "POST", "/api/characters/import", map[string]any{"asset_id": uploadReady(t, p, "card", "image/png", "back.png", card.Body)})
		require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
		var back importedCharacter
		resp.JSON(t, &back)
		require.Equal(t, first.Character.Name, back.Character.Name)
		require.Equal(t, first.Character.Sheet.Notes, back.Character.Sheet.Notes)
		require.Empty(t, back.Warnings, "a card we wrote reads back cleanly")
		require.Equal(t, sessionLore(t, p, newSession(t, p, first.Character.ID).ID), sessionLore(t, p, newSession(t, p, back.Character.ID).ID))
	})
}
