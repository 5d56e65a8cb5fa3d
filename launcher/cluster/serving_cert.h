/* serving_cert.h: kubelet's serving certificate (10250) for a joined node.
 *
 * Without tlsCertFile kubelet makes itself a self-signed certificate in its cert dir
 * (kubelet.crt, kubelet.key) that names only its hostname, never the node IP the API server
 * dials, and keeps it whatever the node IP becomes. usernode writes that pair itself before
 * kubelet starts: self-signed, for the node name and the node IP, made again when either
 * changes or it expires within a day. */
#pragma once

/* Ensure CERT_DIR/kubelet.crt and kubelet.key (0600) cover NODE_NAME and NODE_IP. Returns 0 (kept
 * or written), or a negative errno after logging, with nothing half written. */
int serving_cert_ensure(const char *cert_dir, const char *node_name, const char *node_ip);
