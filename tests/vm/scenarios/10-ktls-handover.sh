# Kernel TLS hand-over with ttygate's ktls/ code: every suite, in-process OpenSSL client behind a
# tampering proxy, and openssl s_client as a real peer.
# binaries: ktls_handover_test openssl
cd /tmp && ktls_handover_test
