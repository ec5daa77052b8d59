package appliance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync/atomic"
	"time"

	"facteur/services/mailstore"
)

const (
	blobCert = "tls/cert.pem"
	blobKey  = "tls/key.pem"
)

// certHolder serves the current certificate to every listener, so that a
// new one (after setup changes the hostname, later an ACME one) takes
// effect without a restart.
type certHolder struct {
	cur atomic.Pointer[tls.Certificate]
}

func (h *certHolder) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return h.cur.Load(), nil
		},
	}
}

// loadOrCreateCert loads the stored certificate, or makes and stores a
// self-signed one for hostname when there is none or it is for another
// name.
func (h *certHolder) loadOrCreate(ctx context.Context, store *mailstore.Store, hostname string) error {
	certPEM, err1 := store.Blob(ctx, blobCert)
	keyPEM, err2 := store.Blob(ctx, blobKey)
	if err1 == nil && err2 == nil {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err == nil && cert.Leaf != nil && cert.Leaf.VerifyHostname(hostname) == nil && time.Until(cert.Leaf.NotAfter) > 30*24*time.Hour {
			h.cur.Store(&cert)
			return nil
		}
	} else if !errors.Is(err1, mailstore.ErrNotFound) && err1 != nil {
		return err1
	}
	certPEM, keyPEM, err := selfSigned(hostname, time.Now())
	if err != nil {
		return err
	}
	if err := store.SetBlob(ctx, blobKey, keyPEM); err != nil {
		return err
	}
	if err := store.SetBlob(ctx, blobCert, certPEM); err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	h.cur.Store(&cert)
	return nil
}

// selfSigned makes an ECDSA P-256 certificate for hostname valid for two
// years.
func selfSigned(hostname string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"Facteur self-signed"}},
		DNSNames:              []string{hostname},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// install makes an uploaded certificate (PEM, with its chain) and key the
// current ones, after checking that they fit together, name hostname and
// are not expired, and stores them.
func (h *certHolder) install(ctx context.Context, store *mailstore.Store, hostname string, certPEM, keyPEM []byte) error {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("certificate and key: %w", err)
	}
	if err := cert.Leaf.VerifyHostname(hostname); err != nil {
		return fmt.Errorf("the certificate is not for %s: %w", hostname, err)
	}
	if time.Now().After(cert.Leaf.NotAfter) {
		return fmt.Errorf("the certificate expired on %s", cert.Leaf.NotAfter.Format("2006-01-02"))
	}
	if err := store.SetBlob(ctx, blobKey, keyPEM); err != nil {
		return err
	}
	if err := store.SetBlob(ctx, blobCert, certPEM); err != nil {
		return err
	}
	h.cur.Store(&cert)
	return nil
}
