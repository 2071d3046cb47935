# SPDX-License-Identifier: Apache-2.0
# Kernel TLS hand-over with ttygate's ktls/ code: every suite, in-process OpenSSL client behind a
# tampering proxy, and openssl s_client as a real peer.
# kernels: 6.1 new
# binaries: ktls_handover_test openssl
cd /tmp && ktls_handover_test
