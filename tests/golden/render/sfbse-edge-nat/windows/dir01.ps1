# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for dir01 (Director or Director pool, pool dir)
# topology `sfbse-edge-nat`, scenarios: reverse-proxy, director-single, sfb-edge-nat, sfb-video-screen-sharing
# run in an elevated PowerShell on dir01; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-r16' -DisplayName 'portplan HTTP TCP 8080 in' -Description 'Lync/Skype for Business: plan rules r16; catalog reverse-proxy/internal-interface#1 director-single/director#1' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 8080 -LocalAddress @('192.168.10.11') -RemoteAddress @('172.25.33.40') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r17' -DisplayName 'portplan HTTPS TCP 4443 in' -Description 'Lync/Skype for Business: plan rules r17; catalog reverse-proxy/internal-interface#2 director-single/director#2' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 4443 -LocalAddress @('192.168.10.11') -RemoteAddress @('172.25.33.40') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-out-same-zone-tcp-444' -DisplayName 'portplan HTTPS TCP 444 out' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog director-single/director#3' -Direction Outbound -Action Allow -Profile Any -Protocol TCP -RemotePort 444 -LocalAddress @('192.168.10.11') -RemoteAddress @('192.168.10.21') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-80' -DisplayName 'portplan HTTP TCP 80 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog director-single/director#4' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 80 -LocalAddress @('192.168.10.11') -RemoteAddress @('192.168.100.0/24') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-443' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog director-single/director#5' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('192.168.10.11') -RemoteAddress @('192.168.100.0/24') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r23' -DisplayName 'portplan SIP/MTLS TCP 5061 in' -Description 'Lync/Skype for Business: plan rules r23; catalog director-single/director#6' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 5061 -LocalAddress @('192.168.10.11') -RemoteAddress @('172.25.33.10') | Out-Null

Write-Host 'portplan: 6 rule(s) in group portplan on dir01'
