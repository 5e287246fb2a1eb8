// The gateway served by workerd (Miniflare, the bundled Workers entry), against the real local backend.
import { gatewaySuite } from "./_suite.ts";

gatewaySuite("workerd");
