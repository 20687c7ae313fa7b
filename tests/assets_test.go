package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// The asset tests speak to the real binary and upload straight to the
// test stack's S3 server (versitygw) with the presigned forms, as a browser would. They
// look into the bucket with their own S3 client to prove what was (and was
// not) stored.

type assetJSON struct {
	ID                string     `json:"id"`
	Kind              string     `json:"kind"`
	Status            string     `json:"status"`
	ContentType       string     `json:"content_type"`
	Size              int64      `json:"size"`
	Filename          *string    `json:"filename"`
	SHA256            *string    `json:"sha256"`
	ETag              *string    `json:"etag"`
	CreatedAt         time.Time  `json:"created_at"`
	CompletedAt       *time.Time `json:"completed_at"`
	DownloadURL       *string    `json:"download_url"`
	DownloadExpiresAt *time.Time `json:"download_expires_at"`
}

type uploadForm struct {
	Method string            `json:"method"`
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}

type createdAsset struct {
	Asset     assetJSON  `json:"asset"`
	Upload    uploadForm `json:"upload"`
	ExpiresAt time.Time  `json:"expires_at"`
}

// bucket is the test's own view into the store.
type bucket struct {
	mc   *minio.Client
	name string
}

func openBucket(t *testing.T) bucket {
	t.Helper()
	endpoint := os.Getenv("S3_ENDPOINT")
	require.NotEmpty(t, endpoint, "S3_ENDPOINT is not set: run with `go tool task test`")
	mc, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("S3_ACCESS_KEY"), os.Getenv("S3_SECRET_KEY"), ""),
		Secure: os.Getenv("S3_USE_SSL") == "true",
		Region: os.Getenv("S3_REGION"),
	})
	require.NoError(t, err)
	return bucket{mc: mc, name: os.Getenv("S3_BUCKET")}
}

// keys lists every object under prefix.
func (b bucket) keys(t *testing.T, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := []string{}
	for o := range b.mc.ListObjects(ctx, b.name, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		require.NoError(t, o.Err)
		out = append(out, o.Key)
	}
	return out
}

func (b bucket) exists(t *testing.T, key string) bool {
	t.Helper()
	_, err := b.mc.StatObject(context.Background(), b.name, key, minio.StatObjectOptions{})
	if err == nil {
		return true
	}
	require.Equal(t, "NoSuchKey", minio.ToErrorResponse(err).Code, "stat %s: %v", key, err)
	return false
}

func (b bucket) put(t *testing.T, key, contentType string, body []byte) {
	t.Helper()
	_, err := b.mc.PutObject(context.Background(), b.name, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: contentType})
	require.NoError(t, err)
}

// assetKey is where a ready asset's bytes live; uploadKey is the one key
// its upload form writes.
func assetKey(p player, kind, id string) string  { return "players/" + p.ID + "/" + kind + "/" + id }
func uploadKey(p player, kind, id string) string { return "uploads/" + p.ID + "/" + kind + "/" + id }

func portraitPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			img.Set(x, y, color.RGBA{R: uint8(16 * x), G: uint8(16 * y), B: 90, A: 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func createAsset(t *testing.T, c *testkit.Client, body map[string]any) createdAsset {
	t.Helper()
	resp := c.Do(t, "POST", "/api/assets", body)
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var out createdAsset
	resp.JSON(t, &out)
	return out
}

// uploadWithForm posts a presigned form as a browser's FormData would:
// every field, then the file last. override replaces (or adds) fields.
func uploadWithForm(t *testing.T, f uploadForm, body []byte, override map[string]string) (int, string) {
	t.Helper()
	fields := map[string]string{}
	for k, v := range f.Fields {
		fields[k] = v
	}
	for k, v := range override {
		fields[k] = v
	}
	require.Equal(t, "POST", f.Method)
	return testkit.Upload(t, f.Method, f.URL, fields, "portrait.png", body)
}

func getAsset(t *testing.T, c *testkit.Client, id string) assetJSON {
	t.Helper()
	resp := c.Do(t, "GET", "/api/assets/"+id, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct{ Asset assetJSON }
	resp.JSON(t, &out)
	return out.Asset
}

func completeAsset(t *testing.T, c *testkit.Client, id string) assetJSON {
	t.Helper()
	resp := c.Do(t, "POST", "/api/assets/"+id+"/complete", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct{ Asset assetJSON }
	resp.JSON(t, &out)
	return out.Asset
}

func download(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// requireInvalidField asserts a 400 invalid_request whose message names field.
func requireInvalidField(t *testing.T, resp *testkit.Response, field string) {
	t.Helper()
	requireAPIError(t, resp, http.StatusBadRequest, "invalid_request")
	var body struct {
		Error struct{ Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(resp.Body, &body))
	require.True(t, strings.HasPrefix(body.Error.Message, field+":"), "message %q names %s", body.Error.Message, field)
}

func TestAssetFullFlow(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{})
	b := openBucket(t)
	p := signUp(t, srv.URL)
	img := portraitPNG(t)

	created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img), "filename": "Ærwyn portrait.png"})
	a := created.Asset
	key := uploadKey(p, "portrait", a.ID)
	readyKey := assetKey(p, "portrait", a.ID)

	t.Run("create answers a pending asset and a presigned POST form", func(t *testing.T) {
		require.Equal(t, "pending", a.Status)
		require.Equal(t, "portrait", a.Kind)
		require.Equal(t, "image/png", a.ContentType)
		require.Equal(t, int64(len(img)), a.Size)
		require.Equal(t, "Ærwyn portrait.png", *a.Filename)
		require.Nil(t, a.DownloadURL, "nothing to download yet")
		require.Equal(t, "POST", created.Upload.Method)
		require.Equal(t, key, created.Upload.Fields["key"], "the server makes the key, under the player's prefix")
		require.Equal(t, "image/png", created.Upload.Fields["Content-Type"])
		require.NotEmpty(t, created.Upload.Fields["policy"])
		require.NotEmpty(t, created.Upload.Fields["x-amz-signature"])
		require.WithinDuration(t, time.Now().Add(5*time.Minute), created.ExpiresAt, 30*time.Second, "the form is short-lived")
		require.Empty(t, b.keys(t, "players/"+p.ID+"/"), "nothing is stored before the upload")
		require.Empty(t, b.keys(t, "uploads/"+p.ID+"/"), "nothing is stored before the upload")
	})
	t.Run("complete before the upload is a conflict", func(t *testing.T) {
		requireAPIError(t, p.Client.Do(t, "POST", "/api/assets/"+a.ID+"/complete", nil), http.StatusConflict, "conflict")
	})
	t.Run("the browser-style form upload stores the object", func(t *testing.T) {
		status, msg := uploadWithForm(t, created.Upload, img, nil)
		require.Equal(t, http.StatusNoContent, status, msg)
		require.Equal(t, []string{key}, b.keys(t, "uploads/"+p.ID+"/"))
	})
	t.Run("the bucket is private: the object's plain URL is refused", func(t *testing.T) {
		u, err := url.Parse(created.Upload.URL)
		require.NoError(t, err)
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + key
		resp, _ := download(t, u.String())
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
	var ready assetJSON
	t.Run("complete checks the object and makes the asset ready with its SHA-256", func(t *testing.T) {
		ready = completeAsset(t, p.Client, a.ID)
		require.Equal(t, "ready", ready.Status)
		sum := sha256.Sum256(img)
		require.Equal(t, hex.EncodeToString(sum[:]), *ready.SHA256)
		require.NotNil(t, ready.CompletedAt)
		require.NotNil(t, ready.DownloadURL)
		require.True(t, b.exists(t, readyKey), "the verified bytes are copied where no form can write")
		require.False(t, b.exists(t, key), "the upload object is gone")
	})
	t.Run("completing twice is idempotent", func(t *testing.T) {
		again := completeAsset(t, p.Client, a.ID)
		require.Equal(t, "ready", again.Status)
		require.Equal(t, ready.SHA256, again.SHA256)
		require.Equal(t, ready.CompletedAt.UTC(), again.CompletedAt.UTC())
	})
	t.Run("get hands out a short-lived download URL with the same bytes", func(t *testing.T) {
		got := getAsset(t, p.Client, a.ID)
		require.NotNil(t, got.DownloadURL)
		require.WithinDuration(t, time.Now().Add(5*time.Minute), *got.DownloadExpiresAt, 30*time.Second)
		u, err := url.Parse(*got.DownloadURL)
		require.NoError(t, err)
		require.Equal(t, "300", u.Query().Get("X-Amz-Expires"))
		resp, body := download(t, *got.DownloadURL)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, img, body)
		require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	})
	t.Run("list shows the player's assets newest first", func(t *testing.T) {
		sheet := createAsset(t, p.Client, map[string]any{"kind": "sheet", "content_type": "application/json", "size": 2})
		resp := p.Client.Do(t, "GET", "/api/assets", nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out struct{ Assets []assetJSON }
		resp.JSON(t, &out)
		require.Len(t, out.Assets, 2)
		require.Equal(t, sheet.Asset.ID, out.Assets[0].ID)
		require.Equal(t, a.ID, out.Assets[1].ID)
		require.NotNil(t, out.Assets[1].DownloadURL)
		require.Nil(t, out.Assets[0].DownloadURL)

		resp = p.Client.Do(t, "GET", "/api/assets?kind=portrait", nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		resp.JSON(t, &out)
		require.Len(t, out.Assets, 1)
	})
	var characterID string
	t.Run("the ready portrait becomes the character's portrait", func(t *testing.T) {
		ch := newCharacter(t, p)
		characterID = ch.ID
		resp := p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{"portrait_asset_id": a.ID})
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out struct {
			Character struct {
				PortraitAssetID *string `json:"portrait_asset_id"`
				Name            string  `json:"name"`
			}
		}
		resp.JSON(t, &out)
		require.NotNil(t, out.Character.PortraitAssetID)
		require.Equal(t, a.ID, *out.Character.PortraitAssetID)
		require.Equal(t, "Arwen", out.Character.Name, "other fields are untouched")

		resp = p.Client.Do(t, "GET", "/api/characters/"+ch.ID, nil)
		resp.JSON(t, &out)
		require.Equal(t, a.ID, *out.Character.PortraitAssetID)
	})
	t.Run("delete removes the object, then the row", func(t *testing.T) {
		resp := p.Client.Do(t, "DELETE", "/api/assets/"+a.ID, nil)
		require.Equal(t, http.StatusNoContent, resp.Status, string(resp.Body))
		require.False(t, b.exists(t, readyKey), "StatObject says NoSuchKey")
		requireAPIError(t, p.Client.Do(t, "GET", "/api/assets/"+a.ID, nil), http.StatusNotFound, "not_found")
		requireAPIError(t, p.Client.Do(t, "DELETE", "/api/assets/"+a.ID, nil), http.StatusNotFound, "not_found")
	})
	t.Run("a deleted portrait is no longer the character's", func(t *testing.T) {
		resp := p.Client.Do(t, "GET", "/api/characters/"+characterID, nil)
		require.Equal(t, http.StatusOK, resp.Status)
		var out struct {
			Character map[string]any
		}
		resp.JSON(t, &out)
		require.Nil(t, out.Character["portrait_asset_id"])
	})
	t.Run("readyz checks S3", func(t *testing.T) {
		resp := testkit.NewClient(srv.URL).Do(t, "GET", "/readyz", nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out struct{ Checks map[string]string }
		resp.JSON(t, &out)
		require.Equal(t, "ok", out.Checks["s3"])
	})
}

func TestAssetDocumentsDownloadAsAttachments(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{})
	p := signUp(t, srv.URL)
	body := []byte(`{"name":"Arwen","hp":24}`)
	created := createAsset(t, p.Client, map[string]any{"kind": "sheet", "content_type": "application/json", "size": len(body), "filename": "arwen sheet.json"})
	status, msg := uploadWithForm(t, created.Upload, body, nil)
	require.Equal(t, http.StatusNoContent, status, msg)
	ready := completeAsset(t, p.Client, created.Asset.ID)

	resp, got := download(t, *ready.DownloadURL)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, body, got)
	disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	require.NoError(t, err)
	require.Equal(t, "attachment", disp, "a browser must not render a document from the bucket")
	require.Equal(t, "arwen sheet.json", params["filename"])
}

func TestAssetAbuseIsRefused(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{})
	b := openBucket(t)
	p := signUp(t, srv.URL)
	img := portraitPNG(t)
	prefix := "players/" + p.ID + "/"

	t.Run("bad requests are 400s naming the field", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"an unknown kind", map[string]any{"kind": "avatar", "content_type": "image/png", "size": 10}, "kind"},
			{"a content type the kind does not take", map[string]any{"kind": "portrait", "content_type": "text/html", "size": 10}, "content_type"},
			{"svg as a map", map[string]any{"kind": "map", "content_type": "image/svg+xml", "size": 10}, "content_type"},
			{"size zero", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 0}, "size"},
			{"a negative size", map[string]any{"kind": "portrait", "content_type": "image/png", "size": -1}, "size"},
			{"a portrait over 5 MiB", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 5<<20 + 1}, "size"},
			{"a filename with ../", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 10, "filename": "../../etc/passwd"}, "filename"},
			{"a filename with a slash", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 10, "filename": "a/b.png"}, "filename"},
			{"a filename with a backslash", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 10, "filename": `..\..\b.png`}, "filename"},
			{"a filename with a NUL", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 10, "filename": "a\x00.png"}, "filename"},
			{"a filename with a newline", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 10, "filename": "a\r\nX-Evil: 1.png"}, "filename"},
			{"a filename with a right-to-left override", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 10, "filename": "cute\u202egnp.exe"}, "filename"},
			{"a filename over 255 bytes", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 10, "filename": strings.Repeat("a", 256)}, "filename"},
			{"a key chosen by the client", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 10, "key": "players/x/portrait/y"}, "key"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				requireInvalidField(t, p.Client.Do(t, "POST", "/api/assets", tc.body), tc.field)
			})
		}
		resp := p.Client.Do(t, "GET", "/api/assets", nil)
		require.JSONEq(t, `{"assets":[],"next_before":null}`, string(resp.Body), "nothing was recorded")
		require.Empty(t, b.keys(t, prefix), "nothing was stored")
	})

	t.Run("an upload with another content type is refused by the store", func(t *testing.T) {
		created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
		status, msg := uploadWithForm(t, created.Upload, img, map[string]string{"Content-Type": "text/html"})
		require.Equal(t, http.StatusForbidden, status, msg)
		require.Contains(t, msg, "Policy Condition failed", "refused by the policy's content-type condition")
		require.False(t, b.exists(t, uploadKey(p, "portrait", created.Asset.ID)))
		requireAPIError(t, p.Client.Do(t, "POST", "/api/assets/"+created.Asset.ID+"/complete", nil), http.StatusConflict, "conflict")
	})
	t.Run("an oversize body is refused by the store", func(t *testing.T) {
		created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
		status, msg := uploadWithForm(t, created.Upload, append(append([]byte{}, img...), make([]byte, 1024)...), nil)
		require.Equal(t, http.StatusBadRequest, status, msg)
		require.Contains(t, msg, "EntityTooLarge")
		require.False(t, b.exists(t, uploadKey(p, "portrait", created.Asset.ID)))
		requireAPIError(t, p.Client.Do(t, "POST", "/api/assets/"+created.Asset.ID+"/complete", nil), http.StatusConflict, "conflict")
	})
	t.Run("an undersize body is refused by the store", func(t *testing.T) {
		created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
		status, msg := uploadWithForm(t, created.Upload, img[:len(img)-1], nil)
		require.Equal(t, http.StatusBadRequest, status, msg)
		require.Contains(t, msg, "EntityTooSmall")
		require.False(t, b.exists(t, uploadKey(p, "portrait", created.Asset.ID)))
	})
	t.Run("a form cannot write to another key", func(t *testing.T) {
		victim := signUp(t, srv.URL)
		created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
		target := uploadKey(victim, "portrait", created.Asset.ID)
		status, msg := uploadWithForm(t, created.Upload, img, map[string]string{"key": target})
		require.Equal(t, http.StatusForbidden, status, msg)
		require.Contains(t, msg, "Policy Condition failed", "refused by the policy's key condition")
		require.Empty(t, b.keys(t, "uploads/"+victim.ID+"/"))
	})
	t.Run("bytes that are not the declared type are refused at complete and removed", func(t *testing.T) {
		html := []byte("<html><script>alert(document.cookie)</script></html>")
		created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(html)})
		status, msg := uploadWithForm(t, created.Upload, html, nil)
		require.Equal(t, http.StatusNoContent, status, msg)
		requireAPIError(t, p.Client.Do(t, "POST", "/api/assets/"+created.Asset.ID+"/complete", nil), http.StatusConflict, "conflict")
		require.False(t, b.exists(t, uploadKey(p, "portrait", created.Asset.ID)), "the mismatching object is deleted")
		require.Equal(t, "pending", getAsset(t, p.Client, created.Asset.ID).Status)
	})
	t.Run("another player's asset is not found anywhere", func(t *testing.T) {
		created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
		status, msg := uploadWithForm(t, created.Upload, img, nil)
		require.Equal(t, http.StatusNoContent, status, msg)
		id := created.Asset.ID
		other := signUp(t, srv.URL)
		requireAPIError(t, other.Client.Do(t, "GET", "/api/assets/"+id, nil), http.StatusNotFound, "not_found")
		requireAPIError(t, other.Client.Do(t, "POST", "/api/assets/"+id+"/complete", nil), http.StatusNotFound, "not_found")
		requireAPIError(t, other.Client.Do(t, "DELETE", "/api/assets/"+id, nil), http.StatusNotFound, "not_found")
		resp := other.Client.Do(t, "GET", "/api/assets", nil)
		require.JSONEq(t, `{"assets":[],"next_before":null}`, string(resp.Body))

		completeAsset(t, p.Client, id)
		ch := newCharacter(t, other)
		requireInvalidField(t, other.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{"portrait_asset_id": id}), "portrait_asset_id")
		require.True(t, b.exists(t, assetKey(p, "portrait", id)), "the owner's object is untouched")
		require.Equal(t, "ready", getAsset(t, p.Client, id).Status)
	})
	t.Run("a portrait must be a ready asset of kind portrait", func(t *testing.T) {
		ch := newCharacter(t, p)
		pending := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
		requireInvalidField(t, p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{"portrait_asset_id": pending.Asset.ID}), "portrait_asset_id")

		m := createAsset(t, p.Client, map[string]any{"kind": "map", "content_type": "image/png", "size": len(img)})
		status, msg := uploadWithForm(t, m.Upload, img, nil)
		require.Equal(t, http.StatusNoContent, status, msg)
		completeAsset(t, p.Client, m.Asset.ID)
		requireInvalidField(t, p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{"portrait_asset_id": m.Asset.ID}), "portrait_asset_id")
		requireInvalidField(t, p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{"portrait_asset_id": "../../etc"}), "portrait_asset_id")
		requireInvalidField(t, p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{"portrait_asset_id": 7}), "portrait_asset_id")

		resp := p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{"portrait_asset_id": nil})
		require.Equal(t, http.StatusOK, resp.Status, "null clears the portrait: %s", resp.Body)
	})
	t.Run("ids that are not UUIDs are 400s", func(t *testing.T) {
		requireInvalidField(t, p.Client.Do(t, "GET", "/api/assets/not-a-uuid", nil), "id")
		requireInvalidField(t, p.Client.Do(t, "POST", "/api/assets/nope/complete", nil), "id")
	})
	t.Run("every stored object is one of the player's assets", func(t *testing.T) {
		resp := p.Client.Do(t, "GET", "/api/assets", nil)
		var out struct{ Assets []assetJSON }
		resp.JSON(t, &out)
		allowed := map[string]bool{}
		for _, a := range out.Assets {
			allowed[assetKey(p, a.Kind, a.ID)] = a.Status == "ready"
			allowed[uploadKey(p, a.Kind, a.ID)] = a.Status == "pending"
		}
		for _, k := range append(b.keys(t, prefix), b.keys(t, "uploads/"+p.ID+"/")...) {
			require.True(t, allowed[k], "unexpected object %s", k)
		}
	})
}

func TestAssetUploadFormsExpireAndQuotasHold(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"ASSET_UPLOAD_TTL=1s", "ASSET_MAX_PER_PLAYER=2"}})
	b := openBucket(t)
	img := portraitPNG(t)

	t.Run("an expired form is refused by the store and stores nothing", func(t *testing.T) {
		p := signUp(t, srv.URL)
		created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
		require.WithinDuration(t, time.Now().Add(time.Second), created.ExpiresAt, 2*time.Second)
		time.Sleep(time.Until(created.ExpiresAt) + 1500*time.Millisecond)
		status, msg := uploadWithForm(t, created.Upload, img, nil)
		require.Equal(t, http.StatusForbidden, status, msg)
		require.Contains(t, strings.ToLower(msg), "expired")
		require.Empty(t, b.keys(t, "uploads/"+p.ID+"/"))
		requireAPIError(t, p.Client.Do(t, "POST", "/api/assets/"+created.Asset.ID+"/complete", nil), http.StatusConflict, "conflict")
	})
	t.Run("a player cannot hold more than the quota", func(t *testing.T) {
		p := signUp(t, srv.URL)
		body := map[string]any{"kind": "map", "content_type": "image/webp", "size": 100}
		createAsset(t, p.Client, body)
		second := createAsset(t, p.Client, body)
		requireAPIError(t, p.Client.Do(t, "POST", "/api/assets", body), http.StatusConflict, "conflict")
		require.Equal(t, http.StatusNoContent, p.Client.Do(t, "DELETE", "/api/assets/"+second.Asset.ID, nil).Status)
		createAsset(t, p.Client, body)
	})
}

func TestAssetCleanupRemovesAbandonedUploads(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{
		"ASSET_UPLOAD_TTL=1s", "ASSET_PENDING_TTL=3s", "ASSET_CLEANUP_INTERVAL=1s",
	}})
	b := openBucket(t)
	p := signUp(t, srv.URL)
	img := portraitPNG(t)

	// Uploaded but never completed (written straight to the bucket, so a
	// slow machine cannot miss the 1 s form).
	abandoned := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
	abandonedKey := uploadKey(p, "portrait", abandoned.Asset.ID)
	b.put(t, abandonedKey, "image/png", img)
	// Never uploaded at all.
	empty := createAsset(t, p.Client, map[string]any{"kind": "map", "content_type": "image/png", "size": len(img)})
	// Completed: must survive.
	kept := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
	b.put(t, uploadKey(p, "portrait", kept.Asset.ID), "image/png", img)
	completeAsset(t, p.Client, kept.Asset.ID)
	keptKey := assetKey(p, "portrait", kept.Asset.ID)

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := p.Client.Do(t, "GET", "/api/assets", nil)
		var out struct{ Assets []assetJSON }
		resp.JSON(t, &out)
		if len(out.Assets) == 1 {
			require.Equal(t, kept.Asset.ID, out.Assets[0].ID)
			break
		}
		require.True(t, time.Now().Before(deadline), "pending uploads still listed after 30s: %s", resp.Body)
		time.Sleep(250 * time.Millisecond)
	}
	requireAPIError(t, p.Client.Do(t, "GET", "/api/assets/"+abandoned.Asset.ID, nil), http.StatusNotFound, "not_found")
	requireAPIError(t, p.Client.Do(t, "GET", "/api/assets/"+empty.Asset.ID, nil), http.StatusNotFound, "not_found")
	require.False(t, b.exists(t, abandonedKey), "the abandoned object is removed")
	require.Equal(t, []string{keptKey}, b.keys(t, "players/"+p.ID+"/"))
	require.Empty(t, b.keys(t, "uploads/"+p.ID+"/"))
	require.Equal(t, "ready", getAsset(t, p.Client, kept.Asset.ID).Status)
}
