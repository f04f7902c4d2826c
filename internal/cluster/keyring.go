package cluster

// The gossip encryption keyring, rotated at runtime: install, use, remove.

import (
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// InstallKey adds an encryption key to the keyring (it decrypts at once;
// UseKey makes it the one that encrypts). Rotation: install the new key on
// every node, then use it on every node, then remove the old one.
func (c *Cluster) InstallKey(key []byte) error {
	if c.keyring == nil {
		return errors.New("cluster: install key: gossip encryption is off; set cluster.keys at startup (memberlist cannot turn encryption on at runtime)")
	}
	if err := memberlist.ValidateKey(key); err != nil {
		return fmt.Errorf("cluster: install key: %d bytes: want 16, 24 or 32", len(key))
	}
	if err := c.keyring.AddKey(key); err != nil {
		return fmt.Errorf("cluster: install key: %w", err)
	}
	return nil
}

// UseKey makes an installed key the one that encrypts.
func (c *Cluster) UseKey(key []byte) error {
	if c.keyring == nil {
		return errors.New("cluster: use key: gossip encryption is off")
	}
	if err := c.keyring.UseKey(key); err != nil {
		return fmt.Errorf("cluster: use key: %w (install it first)", err)
	}
	return nil
}

// RemoveKey removes a key that is not the primary one.
func (c *Cluster) RemoveKey(key []byte) error {
	if c.keyring == nil {
		return errors.New("cluster: remove key: gossip encryption is off")
	}
	if err := c.keyring.RemoveKey(key); err != nil {
		return fmt.Errorf("cluster: remove key: %w (use another key first)", err)
	}
	return nil
}

// Keys returns the installed keys, the primary one first (nil when
// encryption is off).
func (c *Cluster) Keys() [][]byte {
	if c.keyring == nil {
		return nil
	}
	primary := c.keyring.GetPrimaryKey()
	out := [][]byte{primary}
	for _, k := range c.keyring.GetKeys() {
		if string(k) != string(primary) {
			out = append(out, k)
		}
	}
	return out
}
