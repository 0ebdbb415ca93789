# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for fe1 (Front End pool, pool fe)
# topology `dns-director-3edge`, scenarios: director-dns-hlb, edge-consolidated-hlb, reverse-proxy
# run in an elevated PowerShell on fe1; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-444' -DisplayName 'portplan HTTPS TCP 444 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog director-dns-hlb/director#3' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 444 -LocalAddress @('10.20.2.11','fd00:20:2::11') -RemoteAddress @('10.20.1.11','fd00:20:1::11') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r71' -DisplayName 'portplan HTTPS TCP 4443 in' -Description 'Lync/Skype for Business: plan rules r71; catalog reverse-proxy/internal-interface#2; arrives through a load balancer VIP with SNAT, so the source is the load balancer' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 4443 -LocalAddress @('10.20.2.11','fd00:20:2::11','10.20.2.10') -RemoteAddress Any | Out-Null

Write-Host 'portplan: 2 rule(s) in group portplan on fe1'
