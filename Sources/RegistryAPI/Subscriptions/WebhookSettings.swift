import RegistryCore
import RegistryDispatch
import RegistryStore

/// The webhook settings the API needs (the dispatcher has its own copy in DispatcherSettings).
package struct WebhookSettings: Sendable {
    package var addressPolicy: TargetAddressPolicy
    package var secretOverlapSeconds: Int
    package var timeouts: SendTimeouts
    /// Resolves target host names (the system resolver; tests pin names to addresses).
    package var lookUp: WebhookSender.LookUp = WebhookSender.lookUp(host:)
    /// Encrypts new signing secrets and reads stored ones (the `registry` commands always configure it).
    package var secretKeys: SecretKeyring = .plaintext
    /// Most events one replay call queues (`limit` above it is refused with 422).
    package var replayMaxEvents = 10_000
    /// Most deliveries a subscription may have waiting (pending or retrying); a replay beyond it is
    /// refused with 429.
    package var maxQueuedDeliveries = 50_000
    /// Most subscriptions one client may have; creating one more is refused with 422.
    package var maxSubscriptionsPerClient = 100

    package init(
        addressPolicy: TargetAddressPolicy = TargetAddressPolicy(), secretOverlapSeconds: Int = 86400,
        timeouts: SendTimeouts = SendTimeouts()
    ) {
        self.addressPolicy = addressPolicy
        self.secretOverlapSeconds = secretOverlapSeconds
        self.timeouts = timeouts
    }
}
