//! The diagnostic codes: every short identifier a [`Finding`](super::Finding) can carry, in one
//! closed list. Validation, lint, the planner and the CLI name a code by its variant; text and JSON
//! output show the kebab-case string, which scripts and tests match on, so the strings never change.

crate::catalog::string_enum! {
    /// What a finding is about. The string form is stable output.
    Code ("diagnostic code") {
        // --- reading the file
        Syntax = "syntax": "the file is not valid TOML or does not fit the topology format",
        BadDescription = "bad-description": "a description holds a control character",
        BadValue = "bad-value": "a setting has a value outside its range",
        UnknownVersion = "unknown-version": "the `version` key names no product release portplan knows",
        UnknownFeature = "unknown-feature": "a key under [features] is not a feature",
        UnknownScenario = "unknown-scenario": "`[options] scenarios` names a scenario the catalog lacks",
        UnknownZone = "unknown-zone": "something refers to a zone that is not defined",
        ZoneKind = "zone-kind": "a zone's `kind` is not internet, perimeter or internal",
        PoolRole = "pool-role": "a pool's `role` is not a server role",
        LoadBalancing = "load-balancing": "a pool's `load_balancing` is not a known mode",
        VipService = "vip-service": "a VIP's `service` is not a known service",
        PartnerKind = "partner-kind": "a partner's `kind` is not sip, xmpp or public-im",

        // --- names
        BadName = "bad-name": "a name holds characters or a length some generated file cannot take",
        BadInterfaceName = "bad-interface-name": "an interface name the kernel or a firewall would refuse",
        BadPublishedName = "bad-published-name": "a published web name that is not a usable DNS name",
        DuplicateName = "duplicate-name": "two things of one kind share a name (case ignored)",
        AmbiguousName = "ambiguous-name": "two things of different kinds share a name, so look-ups by name are ambiguous",

        // --- zones and addresses
        NoZones = "no-zones": "the topology defines no zone",
        EmptyZone = "empty-zone": "a zone lists no networks",
        DuplicateZone = "duplicate-zone": "every network of a zone belongs to another zone",
        DuplicateNetwork = "duplicate-network": "one network is listed in two zones",
        HostBits = "host-bits": "a network is written with host bits set",
        OutsideZone = "outside-zone": "an address or network lies outside the zone it is declared in",
        InOtherZone = "in-other-zone": "an address is declared in one zone while a more specific network of another zone holds it",
        DuplicateAddress = "duplicate-address": "two interfaces, service addresses or VIPs use one address",

        // --- firewalls and NAT
        FirewallLegs = "firewall-legs": "a firewall joins fewer than two zones",
        NatInterface = "nat-interface": "a NAT entry names an interface its firewall lacks, or the firewall has no internet-facing one for it",
        NatPrivate = "nat-private": "the private side of a NAT entry is not a server address",
        NatPublic = "nat-public": "the public side of a NAT entry is unusable (not reachable from the internet, or clashing)",
        NatFamily = "nat-family": "a NAT entry pairs an IPv4 with an IPv6 address",
        DuplicateNat = "duplicate-nat": "an address appears in two NAT entries",

        // --- pools, servers and interfaces
        EmptyPool = "empty-pool": "a pool has no servers",
        NoInterface = "no-interface": "a server has no interface",
        NoAddress = "no-address": "a server interface has no address",
        MissingInterface = "missing-interface": "a server lacks an interface leg its role needs",
        UnusedInterface = "unused-interface": "a server interface no rule of its role would use",
        MissingAddress = "missing-address": "an Edge interface lacks a service address its role needs",
        UnusedAddress = "unused-address": "a service address no rule would use",
        SharedServiceAddress = "shared-service-address": "one address serves several Edge services (the single-address design), which needs per-service ports portplan does not plan",
        EdgeOnlyKey = "edge-only-key": "an Edge service address key on an interface that is not an Edge external one",
        GatewayOutsideZone = "gateway-outside-zone": "an interface gateway lies outside the interface's zone",
        GatewayUnknown = "gateway-unknown": "an interface gateway is neither a firewall address nor a VIP of its zone",
        UnusedRoutes = "unused-routes": "`routes` on an interface that nothing reads them from",
        CmsRole = "cms-role": "`cms` set on a pool that is not a Front End pool",
        DuplicateCms = "duplicate-cms": "two pools hold the Central Management store",
        UnusedPublished = "unused-published": "published names on a pool no reverse proxy publishes",
        DuplicatePublished = "duplicate-published": "one published name belongs to two pools",

        // --- load balancing and VIPs
        UnsupportedLoadBalancing = "unsupported-load-balancing": "a pool uses a load balancing mode its role does not support",
        SingleServerPool = "single-server-pool": "a pool of several servers with load balancing `none`",
        MissingVip = "missing-vip": "a pool lacks a VIP its load balancing mode needs",
        UnusedVip = "unused-vip": "a VIP the pool's load balancing mode would never use",
        DuplicateVip = "duplicate-vip": "a pool lists two VIPs of one service",
        EmptyVip = "empty-vip": "a VIP has no address",

        // --- partners, features, versions
        EmptyPartner = "empty-partner": "a partner lists no networks",
        PartnerZone = "partner-zone": "a partner network is not in an internet zone",
        UnusedPartner = "unused-partner": "a partner whose networks no planned row would use",
        FeatureNeedsFeature = "feature-needs-feature": "a feature is on while a feature it extends is off",
        FeatureNeedsRole = "feature-needs-role": "a feature is on while the role it needs has no pool",
        FeatureNotInVersion = "feature-not-in-version": "a feature the topology's product release does not have",
        RoleNotInVersion = "role-not-in-version": "a server role the topology's product release does not have",
        ScenarioNotInVersion = "scenario-not-in-version": "a named scenario holds tables of another product release",

        // --- hybrid
        HybridOff = "hybrid-off": "a [hybrid] section while the hybrid feature is switched off",
        HybridEndpoints = "hybrid-endpoints": "the Microsoft 365 endpoint snapshot in use, or why it cannot be used (missing, unreadable, no Skype addresses)",
        HybridEndpointsAge = "hybrid-endpoints-age": "the Microsoft 365 endpoint snapshot is older than its allowed age, or dated after today",
        HybridEndpointsZone = "hybrid-endpoints-zone": "a Microsoft 365 endpoint range overlaps the topology's own networks or addresses",
        HybridNeedsFederation = "hybrid-needs-federation": "hybrid with Microsoft 365 while federation is switched off",

        // --- lint of the Edge and load balancers
        LbSnatAv = "lb-snat-av": "source NAT is on for a VIP whose service must see the client's own address",
        LbPublicAddresses = "lb-public-addresses": "the public address count of a load balanced Edge pool per address family: N+1 per service on Lync Server 2013; on Skype for Business the page's counts, as sfb-edge-addresses",
        LbPrivateAddress = "lb-private-address": "a private address on the external side of a load balanced Edge pool",
        LbVipZone = "lb-vip-zone": "a VIP sits in another zone than the server interfaces it balances",
        LbGateway = "lb-gateway": "an Edge server's external gateway is missing or is not the VIP the design makes the gateway",
        LbEdgeNat = "lb-edge-nat": "a static NAT translates addresses of a hardware load balanced Edge pool",
        EdgeNat = "edge-nat": "an Edge service address published through a static NAT",
        EdgeNatMissing = "edge-nat-missing": "an Edge service address without the static NAT its pool's other addresses have",
        EdgePrivateAddress = "edge-private-address": "a private Edge service address that no firewall translates",
        EdgeInternalDefaultRoute = "edge-internal-default-route": "a default route on an Edge server's internal interface",
        EdgeRoutes = "edge-routes": "an Edge internal interface without persistent routes to the internal networks",
        NarrowAnyMedia = "narrow-any-media": "`narrow_any` keeps internal clients from the Edge A/V rows",
        NatPublicPrivate = "nat-public-private": "a NAT entry publishes an address as a private one",

        // --- Skype for Business Server Edge rules (versions after Lync 2013)
        SfbEdgeSnat = "sfb-edge-snat": "SNAT on an Access or Web Conferencing Edge VIP, which Skype for Business forbids",
        SfbEdgeNatAsymmetric = "sfb-edge-nat-asymmetric": "an Edge server's NAT is not symmetric: several firewalls translate it, or its gateway is another firewall",
        SfbEdgeAvPeers = "sfb-edge-av-peers": "how the servers of an Edge pool reach each other on their public A/V addresses",
        SfbEdgeAddresses = "sfb-edge-addresses": "the Edge addresses a design needs, counted as the Edge page's tables do",
        SfbEdgeNoInternalVip = "sfb-edge-no-internal-vip": "a hardware balanced Skype for Business Edge pool without an internal VIP, and what that leaves out",
        SfbEdgePoolSize = "sfb-edge-pool-size": "an Edge pool with more servers than the supported maximum",

        // --- planning and the catalog
        NoFirewallPath = "no-firewall-path": "planned flows between two zones that no firewall joins",
        CatalogDoubt = "catalog-doubt": "planned rows encoded as their source document has them, though it looks inconsistent",
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Code> for &str {
    fn eq(&self, other: &Code) -> bool {
        *self == other.as_str()
    }
}

impl From<Code> for String {
    fn from(code: Code) -> String {
        code.as_str().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::Code;
    use std::collections::BTreeSet;

    #[test]
    fn every_code_has_its_own_kebab_case_string_that_parses_back() {
        let mut seen = BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "`{s}` is the string of two codes");
            assert!(
                !s.is_empty()
                    && s.split('-').all(|w| !w.is_empty()
                        && w.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())),
                "`{s}` is not kebab-case"
            );
            assert_eq!(s.parse::<Code>(), Ok(*code));
            assert!(!code.description().is_empty(), "`{s}` has no meaning");
            // serde writes the plain string, as JSON output always had it
            assert_eq!(serde_json::to_string(code).unwrap(), format!("\"{s}\""));
        }
        assert!("no-such-code".parse::<Code>().is_err());
    }

    #[test]
    fn codes_the_readme_names_are_codes() {
        // the README names codes in backticks where it describes checks; each one named in a
        // sentence about a diagnostic must exist, so a rename cannot leave the README behind
        let readme = include_str!("../../README.md");
        for named in [
            "duplicate-network",
            "in-other-zone",
            "unused-vip",
            "missing-vip",
            "unsupported-load-balancing",
            "ambiguous-name",
            "duplicate-zone",
            "gateway-unknown",
            "gateway-outside-zone",
            "unused-partner",
            "catalog-doubt",
        ] {
            assert!(
                readme.contains(&format!("`{named}`")),
                "README no longer names `{named}`"
            );
            assert!(
                named.parse::<Code>().is_ok(),
                "README names `{named}`, which is no code"
            );
        }
    }
}
