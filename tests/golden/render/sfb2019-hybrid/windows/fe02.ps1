# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for fe02 (Front End pool, pool fepool)
# topology `sfb2019-hybrid`, scenarios: director-pool-hlb, reverse-proxy, sfb-edge-hlb, hybrid
# run in an elevated PowerShell on fe02; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-444' -DisplayName 'portplan HTTPS TCP 444 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog director-pool-hlb/director#3' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 444 -LocalAddress @('10.10.2.12') -RemoteAddress @('10.10.1.11','10.10.1.12') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r22' -DisplayName 'portplan HTTP TCP 8080 in' -Description 'Lync/Skype for Business: plan rules r22; catalog reverse-proxy/internal-interface#1; arrives through a load balancer VIP with SNAT, so the source is the load balancer' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 8080 -LocalAddress @('10.10.2.12','10.10.2.10') -RemoteAddress Any | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r23' -DisplayName 'portplan HTTPS TCP 4443 in' -Description 'Lync/Skype for Business: plan rules r23; catalog reverse-proxy/internal-interface#2; arrives through a load balancer VIP with SNAT, so the source is the load balancer' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 4443 -LocalAddress @('10.10.2.12','10.10.2.10') -RemoteAddress Any | Out-Null

Write-Host 'portplan: 3 rule(s) in group portplan on fe02'
