package devstack

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
)

// S3 settings shared by every stack; only the endpoint and the keys vary.
const (
	S3Bucket = "conquest-assets"
	S3Region = "us-east-1"

	devS3AccessKey = "conquest-dev"
	devS3SecretKey = "conquest-dev-secret" // MinIO wants at least 8 characters
)

// minioCreds are MinIO's root user, handed to the app as its S3 keys.
type minioCreds struct{ accessKey, secretKey string }

// startMinIO serves dir as S3 on port, with the web console on consolePort,
// and waits for the readiness endpoint.
func startMinIO(ctx context.Context, exe, dir string, port, consolePort int, creds minioCreds, logPath string) (*process, error) {
	cmd := exec.Command(exe, "server", dir,
		"--address", hostPort(port),
		"--console-address", hostPort(consolePort),
	)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+creds.accessKey,
		"MINIO_ROOT_PASSWORD="+creds.secretKey,
		"MINIO_UPDATE=off",
		"MINIO_REGION="+S3Region,
	)
	p, err := startLogged("minio", logPath, cmd)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://%s/minio/health/ready", hostPort(port))
	if err := waitReady(ctx, p, port, func(ctx context.Context) error { return probeHTTP(ctx, url) }); err != nil {
		return p, err
	}
	return p, nil
}

// probeHTTP succeeds when url answers 200.
func probeHTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
